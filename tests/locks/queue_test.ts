/** The waiting queue: order, dead waiters and half-written tickets. */

import { assertEquals } from "../helpers/assert.ts";
import { FakeProbe } from "../helpers/fake_probe.ts";
import { tempDir } from "../helpers/cli.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { ensureLayout, layoutOf, queueDir } from "../../src/locks/layout.ts";
import {
  hasEarlierTicket,
  joinQueue,
  TICKET_STALL_MS,
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
  assertEquals(hasEarlierTicket(queueDir(ctx.layout, "x"), b.seq), false, "a's ticket is gone");
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
  assertEquals(hasEarlierTicket(queue, mine.seq), true, "still there while young");
  clock += TICKET_STALL_MS + 1_000;
  waitersAhead(ctx, "x", mine.seq);
  assertEquals(hasEarlierTicket(queue, mine.seq), false, "removed once old");
});
