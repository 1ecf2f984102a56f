/** The waiting queue: order, dead waiters and half-written tickets. */

import { assertEquals } from "../helpers/assert.ts";
import { FakeProbe } from "../helpers/fake_probe.ts";
import { tempDir } from "../helpers/cli.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { ensureLayout, layoutOf, queueDir } from "../../src/locks/layout.ts";
import {
  joinQueue,
  leaveQueue,
  TICKET_STALL_MS,
  ticketAhead,
  waitersAhead,
} from "../../src/locks/queue.ts";

function context(root: string, probe: FakeProbe, now: () => number): LockContext {
  const layout = layoutOf(root);
  ensureLayout(layout);
  return {
    layout,
    now,
    probe,
    audit: { append() {} },
    actor: { owner: "t", host: "box", pid: 1, agentId: "t" },
  };
}

const waiter = (pid: number) => ({ pid, start: `s${pid}`, owner: "t", agentId: `a${pid}` });

Deno.test("waiters are ahead in ticket order; a dead waiter's ticket is removed and skipped", () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: 10 }).add({ pid: 11 }).add({ pid: 12 });
  const ctx = context(dir.path, probe, () => Date.now());
  const [a, b, c] = [10, 11, 12].map((pid) => joinQueue(ctx, "x", waiter(pid)));
  assertEquals(waitersAhead(ctx, "x", c.seq).map((t) => t.pid), [10, 11]);
  probe.processes.delete(10);
  assertEquals(waitersAhead(ctx, "x", c.seq).map((t) => t.pid), [11]);
  const queue = queueDir(ctx.layout, "x");
  assertEquals(ticketAhead(queue, b.seq), undefined, "a's ticket is gone");
  assertEquals(ticketAhead(queue, c.seq), b.path, "the ticket just ahead, not the first");
  assertEquals(a.seq < b.seq && b.seq < c.seq, true);
});

Deno.test("a half-written ticket holds no turn and is removed once older than the stall time", () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: 11 });
  let clock = Date.now();
  const ctx = context(dir.path, probe, () => clock);
  const queue = queueDir(ctx.layout, "x");
  Deno.mkdirSync(queue, { recursive: true });
  Deno.writeTextFileSync(`${queue}/000000000001.json`, ""); // killed before writing it
  const mine = joinQueue(ctx, "x", waiter(11));
  assertEquals(waitersAhead(ctx, "x", mine.seq), []);
  assertEquals(ticketAhead(queue, mine.seq), `${queue}/000000000001.json`, "there while young");
  clock += TICKET_STALL_MS + 1_000;
  waitersAhead(ctx, "x", mine.seq);
  assertEquals(ticketAhead(queue, mine.seq), undefined, "removed once old");
});

Deno.test("leaving twice removes only one's own ticket, not a newcomer's that took the same number", () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: 10 }).add({ pid: 11 });
  const ctx = context(dir.path, probe, () => Date.now());
  const mine = joinQueue(ctx, "x", waiter(10));
  leaveQueue(mine); // as an acquisition does, under the kernel lock
  const newcomer = joinQueue(ctx, "x", waiter(11));
  assertEquals(newcomer.seq, mine.seq, "the number is free again once the last ticket left");
  leaveQueue(mine); // as the waiter's own clean-up does, after the kernel lock is dropped
  assertEquals(waitersAhead(ctx, "x").map((t) => t.pid), [11]);
});

Deno.test("a waiter looks only at the tickets ahead of its own", () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: 10 }).add({ pid: 11 });
  const ctx = context(dir.path, probe, () => Date.now());
  const first = joinQueue(ctx, "x", waiter(10));
  const second = joinQueue(ctx, "x", waiter(11));
  Deno.writeTextFileSync(`${queueDir(ctx.layout, "x")}/000000000009.json`, "not json");
  assertEquals(waitersAhead(ctx, "x", first.seq), []);
  assertEquals(waitersAhead(ctx, "x", second.seq).map((t) => t.pid), [10]);
  assertEquals(waitersAhead(ctx, "x").map((t) => t.pid), [10, 11]);
});
