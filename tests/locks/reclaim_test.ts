/**
 * Reclaiming unused names: the root does not grow with the number of names ever used, a name in
 * use keeps its files, and fences keep growing across reclaims.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { FakeProbe } from "../helpers/fake_probe.ts";
import { tempDir } from "../helpers/cli.ts";
import { tryAcquire } from "../../src/locks/acquire.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { freeze, unfreeze } from "../../src/locks/freeze.ts";
import type { Claim } from "../../src/locks/holder.ts";
import {
  ensureLayout,
  fenceFloorPath,
  fencePath,
  layoutOf,
  queueDir,
} from "../../src/locks/layout.ts";
import { withNameMutex } from "../../src/locks/mutex.ts";
import { joinQueue } from "../../src/locks/queue.ts";
import { censusOfNames, reclaimIfUnused, reclaimUnused } from "../../src/locks/reclaim.ts";
import { release } from "../../src/locks/release.ts";
import { acquireWaiting } from "../../src/locks/wait.ts";

const PID = 4242;

function context(root: string, probe = new FakeProbe().add({ pid: PID })): LockContext {
  const layout = layoutOf(root);
  ensureLayout(layout);
  return {
    layout,
    now: () => Date.now(),
    probe,
    audit: { append() {} },
    actor: { owner: "tester", host: "box", pid: PID, agentId: "t" },
  };
}

const claim: Claim = {
  owner: "tester",
  host: "box",
  agentId: "t",
  process: { pid: PID, start: `s${PID}`, source: "self" },
  ancestors: [],
  pid: PID,
};

async function take(ctx: LockContext, name: string, wait = false) {
  const req = { name, kind: "guard" as const, claim, ttlMs: 60_000, denyEvent: null };
  const outcome = wait
    ? await acquireWaiting(ctx, req, { noWatch: true })
    : await tryAcquire(ctx, req);
  assert(outcome.kind === "acquired", `${name}: ${outcome.kind}`);
  return outcome.lock;
}

async function takeAndRelease(ctx: LockContext, name: string, wait = false): Promise<number> {
  const lock = await take(ctx, name, wait);
  const released = await release(ctx, { name, mode: "owner", claim, lockId: lock.lockId });
  assertEquals(released.kind, "released");
  return lock.fence;
}

const entries = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
const floorOf = (ctx: LockContext) => Number(Deno.readTextFileSync(fenceFloorPath(ctx.layout)));

Deno.test("500 distinct names locked and released leave only the floor in fences/ and nothing in queue/", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  const fences: number[] = [];
  for (let i = 0; i < 500; i++) {
    // Every other one through the waiting path, which creates the name's queue directory.
    fences.push(await takeAndRelease(ctx, `port-3000-${i}`, i % 2 === 0));
  }
  assertEquals(entries(ctx.layout.fences), [".floor"]);
  assertEquals(entries(ctx.layout.queue), []);
  assertEquals(entries(ctx.layout.locks), []);
  assertEquals(entries(ctx.layout.tmp), []);
  // Each new name starts above the floor, so here every fence is one above the one before.
  assertEquals(fences, Array.from({ length: 500 }, (_, i) => i + 1));
  assertEquals(floorOf(ctx), 500);
});

Deno.test("a name's fences keep growing across reclaims, and the floor never goes down", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) seen.push(await takeAndRelease(ctx, "build"));
  assertEquals(seen, [1, 2, 3, 4, 5]);
  assertEquals(floorOf(ctx), 5);

  // A name with a lower counter folds into the floor without lowering it.
  const held = await take(ctx, "deploy"); // fence 6, from the floor
  assertEquals(held.fence, 6);
  const older = await take(ctx, "old");
  Deno.writeTextFileSync(fencePath(ctx.layout, "old"), `${"2".padStart(20, "0")}\n`);
  await release(ctx, { name: "old", mode: "owner", claim, lockId: older.lockId });
  assertEquals(floorOf(ctx), 5);
  await release(ctx, { name: "deploy", mode: "owner", claim, lockId: held.lockId });
  assertEquals(floorOf(ctx), 6);
  assertEquals(await takeAndRelease(ctx, "build"), 7);
});

Deno.test("a name in use keeps its files: a lock, a freeze or a queued ticket", async () => {
  const cases: [string, (ctx: LockContext) => Promise<unknown>][] = [
    ["a lock", (ctx) => take(ctx, "x")],
    [
      "a freeze",
      (ctx) => freeze(ctx, { name: "x", owner: "o", host: "box", agentId: "t", ttlMs: 60_000 }),
    ],
    [
      "a ticket",
      (ctx) =>
        withNameMutex(
          ctx.layout,
          "x",
          () => joinQueue(ctx, "x", { pid: PID, owner: "o", agentId: "t" }),
        ),
    ],
  ];
  for (const [what, use] of cases) {
    using dir = tempDir();
    const ctx = context(dir.path);
    await use(ctx);
    const reclaimed = await withNameMutex(
      ctx.layout,
      "x",
      (m) => reclaimIfUnused(ctx.layout, "x", m),
    );
    assertEquals(reclaimed, false, what);
    assert(Deno.statSync(fencePath(ctx.layout, "x")).isFile, `${what}: the fence file stays`);
    assertEquals(await reclaimUnused(ctx), [], `${what}: the sweep leaves it too`);
    assertEquals(censusOfNames(ctx.layout).unused, [], what);
  }
});

Deno.test("a release that finds nothing, or an unfreeze, leaves no fence file behind", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  const outcome = await release(ctx, { name: "never-used", mode: "owner", claim });
  assertEquals(outcome.kind, "not-found");
  assertEquals(entries(ctx.layout.fences), []);
  await freeze(ctx, { name: "frozen", owner: "o", host: "box", agentId: "t", ttlMs: 60_000 });
  assertEquals(entries(ctx.layout.fences), ["frozen"]);
  const lifted = await unfreeze(ctx, { name: "frozen", owner: "o", force: false });
  assertEquals(lifted.kind, "unfrozen");
  assertEquals(entries(ctx.layout.fences), []);
  assertEquals(entries(ctx.layout.freezes), []);
});

Deno.test("the sweep reclaims unused names, removing dead waiters' tickets as an acquisition would", async () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: PID }).add({ pid: 77 });
  const ctx = context(dir.path, probe);
  Deno.writeTextFileSync(fencePath(ctx.layout, "gone"), `${"9".padStart(20, "0")}\n`);
  Deno.mkdirSync(queueDir(ctx.layout, "empty-queue"));
  await withNameMutex(
    ctx.layout,
    "dead-waiter",
    () => joinQueue(ctx, "dead-waiter", { pid: 77, start: "s77", owner: "o", agentId: "w" }),
  );
  probe.processes.delete(77);
  await take(ctx, "held");
  Deno.mkdirSync(`${ctx.layout.queue}/.not-a-name`);

  assertEquals(censusOfNames(ctx.layout), {
    fenceFiles: 3,
    queueDirs: 2,
    unused: ["empty-queue", "gone"],
  });
  assertEquals(await reclaimUnused(ctx), ["dead-waiter", "empty-queue", "gone"]);
  assertEquals(entries(ctx.layout.fences), [".floor", "held"]);
  assertEquals(entries(ctx.layout.queue), [".not-a-name"]);
  assertEquals(floorOf(ctx), 9);
  assertEquals(await takeAndRelease(ctx, "gone"), 10);
});
