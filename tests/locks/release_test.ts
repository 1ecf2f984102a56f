/** Releasing one hold by its lock id, on a plain name and on a name with slots. */

import { assert, assertEquals } from "../helpers/assert.ts";
import { FakeProbe, flagClaim } from "../helpers/fake_probe.ts";
import { dirNames, tempDir } from "../helpers/cli.ts";
import { tryAcquire } from "../../src/locks/acquire.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { release } from "../../src/locks/release.ts";

function context(path: string): { ctx: LockContext; probe: FakeProbe } {
  const layout = layoutOf(path);
  ensureLayout(layout);
  const probe = new FakeProbe();
  const ctx: LockContext = {
    layout,
    now: () => Date.parse("2026-01-01T00:00:00Z"),
    probe,
    audit: { append() {} },
    actor: { owner: "tester", host: "box", pid: 1, agentId: "t" },
  };
  return { ctx, probe };
}

Deno.test("a release by lock id finds a slotted hold without being told its slot", async () => {
  using dir = tempDir();
  const { ctx, probe } = context(dir.path);
  const holds = [];
  for (const pid of [101, 102, 103]) {
    probe.add({ pid });
    const outcome = await tryAcquire(ctx, {
      name: "db",
      kind: "lock",
      claim: flagClaim(`agent-${pid}`, pid),
      slots: 3,
    });
    assert(outcome.kind === "acquired", outcome.kind);
    holds.push({ pid, lock: outcome.lock });
  }
  const [, middle] = holds;
  assertEquals(middle.lock.slot, 2);
  const outcome = await release(ctx, {
    name: "db",
    mode: "owner",
    lockId: middle.lock.lockId,
    claim: flagClaim(`agent-${middle.pid}`, middle.pid),
  });
  assertEquals(outcome.kind, "released");
  assertEquals(dirNames(`${dir.path}/slots/db`), ["1.json", "3.json"]);
  // Released once, the hold is gone: a second release by the same id touches nothing.
  const again = await release(ctx, {
    name: "db",
    mode: "owner",
    lockId: middle.lock.lockId,
    claim: flagClaim(`agent-${middle.pid}`, middle.pid),
  });
  assertEquals(again.kind, "gone");
  assertEquals(dirNames(`${dir.path}/slots/db`), ["1.json", "3.json"]);
});

Deno.test("a release by lock id of a plain hold leaves another holder's record alone", async () => {
  using dir = tempDir();
  const { ctx, probe } = context(dir.path);
  probe.add({ pid: 201 });
  const outcome = await tryAcquire(ctx, { name: "db", kind: "lock", claim: flagClaim("a", 201) });
  assert(outcome.kind === "acquired", outcome.kind);
  const other = await release(ctx, {
    name: "db",
    mode: "owner",
    lockId: "0".repeat(32),
    claim: flagClaim("a", 201),
  });
  assertEquals(other.kind, "gone");
  assertEquals(dirNames(`${dir.path}/locks`), ["db.json"]);
  const mine = await release(ctx, {
    name: "db",
    mode: "owner",
    lockId: outcome.lock.lockId,
    claim: flagClaim("a", 201),
  });
  assertEquals(mine.kind, "released");
});
