/** The fence: every acquisition of a name gets a larger number than any before it. */

import { assert, assertEquals } from "../helpers/assert.ts";
import { FakeProbe, flagClaim } from "../helpers/fake_probe.ts";
import { tempDir } from "../helpers/cli.ts";
import { tryAcquire } from "../../src/locks/acquire.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { release } from "../../src/locks/release.ts";

Deno.test("the fence strictly increases across 100 acquisitions, takeovers and breaks included", async () => {
  using dir = tempDir();
  const layout = layoutOf(dir.path);
  ensureLayout(layout);
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const probe = new FakeProbe();
  const ctx: LockContext = {
    layout,
    now: () => clock,
    probe,
    audit: { append() {} },
    actor: { owner: "tester", host: "box", pid: 1, agentId: "t" },
  };
  const fences: number[] = [];
  let takeovers = 0;
  const ways = ["release", "expire", "die", "force", "break-stale"] as const;
  for (let i = 0; i < 100; i++) {
    const pid = 1000 + i;
    probe.add({ pid });
    const outcome = await tryAcquire(ctx, {
      name: "db",
      kind: "lock",
      claim: flagClaim(`agent-${i}`, pid),
      ttlMs: 60_000,
    });
    assert(outcome.kind === "acquired", `acquisition ${i}: ${outcome.kind}`);
    fences.push(outcome.lock.fence);
    if (outcome.replaced !== undefined) takeovers++;
    // End the hold in one of five ways, so that the next acquisition is a plain one or a takeover.
    const way = ways[i % ways.length];
    switch (way) {
      case "release":
        assertEquals(
          (await release(ctx, { name: "db", mode: "owner", claim: flagClaim(`agent-${i}`, pid) }))
            .kind,
          "released",
        );
        break;
      case "expire":
        clock += 61_000; // the next lock takes it over as expired
        break;
      case "die":
        probe.processes.delete(pid); // the next lock takes it over as dead
        break;
      case "force":
      case "break-stale": {
        if (way === "break-stale") probe.processes.delete(pid);
        const broken = await release(ctx, { name: "db", mode: way, claim: flagClaim("other", 1) });
        assertEquals(broken.kind, "broken");
        break;
      }
    }
  }
  for (let i = 1; i < fences.length; i++) {
    assert(fences[i] > fences[i - 1], `fence ${fences[i]} after ${fences[i - 1]}`);
  }
  assertEquals(fences.length, 100);
  assertEquals(takeovers, 40, "every expired or dead holder is taken over");
});
