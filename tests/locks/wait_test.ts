/** Which file events wake a waiter, and how often it polls meanwhile. */

import { assert, assertEquals } from "../helpers/assert.ts";
import { FakeProbe, flagClaim } from "../helpers/fake_probe.ts";
import { tempDir } from "../helpers/cli.ts";
import { tryAcquire } from "../../src/locks/acquire.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { release } from "../../src/locks/release.ts";
import {
  acquireWaiting,
  eventPaths,
  POLL_CAP_WATCHED_MS,
  POLL_MIN_WATCHED_MS,
  pollDelay,
} from "../../src/locks/wait.ts";

Deno.test("a waiter matches file events under the root's real path too (macOS: /tmp is /private/tmp)", () => {
  const real = (dir: string) => dir.startsWith("/tmp/") ? `/private${dir}` : undefined;
  const files = ["/tmp/r/locks/build.json", "/tmp/r/freezes/build.json"];
  assertEquals([...eventPaths(files, real)].sort(), [
    "/private/tmp/r/freezes/build.json",
    "/private/tmp/r/locks/build.json",
    "/tmp/r/freezes/build.json",
    "/tmp/r/locks/build.json",
  ]);
  assertEquals([...eventPaths(["/srv/r/locks/x.json"], (dir) => dir)], ["/srv/r/locks/x.json"]);
});

Deno.test("with file events, a waiter polls from 50 ms up, one look each, until the release", async () => {
  using dir = tempDir();
  const layout = layoutOf(dir.path);
  ensureLayout(layout);
  const probe = new FakeProbe().add({ pid: 101 }).add({ pid: 102 });
  const ctx: LockContext = {
    layout,
    now: () => Date.now(),
    probe,
    audit: { append() {} },
    actor: { owner: "tester", host: "box", pid: 102, agentId: "w" },
  };
  const held = await tryAcquire(ctx, { name: "x", kind: "lock", claim: flagClaim("h", 101) });
  assert(held.kind === "acquired", held.kind);
  const holdMs = 700;
  const releasing = new Promise((resolve) => setTimeout(resolve, holdMs)).then(() =>
    release(ctx, {
      name: "x",
      mode: "owner",
      lockId: held.lock.lockId,
      claim: flagClaim("h", 101),
    })
  );
  let looks = 0;
  const waited = await acquireWaiting(
    ctx,
    { name: "x", kind: "lock", claim: flagClaim("w", 102) },
    { onBlocked: () => looks++, random: () => 0, timeoutMs: 30_000 },
  );
  assertEquals((await releasing).kind, "released");
  assert(waited.kind === "acquired", waited.kind);
  // Each poll comes at least its delay after the one before (the jitter is at its shortest
  // here), so the looks that fit in the wait are bounded: the first, and one per poll (2 ms
  // allowed for the clock's millisecond steps).
  let bound = 1;
  for (
    let n = 0, at = 0;
    (at += pollDelay(n, POLL_MIN_WATCHED_MS, POLL_CAP_WATCHED_MS, () => 0)) <= waited.waitedMs + 2;
    n++
  ) {
    bound++;
  }
  console.log(`waited ${Math.round(waited.waitedMs)} ms: ${looks} looks (at most ${bound})`);
  assert(waited.waitedMs >= holdMs - 50, `got the lock after ${waited.waitedMs} ms`);
  assert(looks >= 2, `${looks} looks: polling catches what makes no event`);
  assert(looks <= bound, `${looks} looks in ${Math.round(waited.waitedMs)} ms, at most ${bound}`);
});
