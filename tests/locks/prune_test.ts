/** Pruning: stale locks, abandoned unreadable files, expired freezes and crashed writers' leftovers. */

import { assertEquals } from "../helpers/assert.ts";
import { FakeProbe, flagClaim } from "../helpers/fake_probe.ts";
import { tempDir } from "../helpers/cli.ts";
import type { AuditEvent } from "../../src/audit/event.ts";
import { tryAcquire } from "../../src/locks/acquire.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { freeze } from "../../src/locks/freeze.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { type Pruned, pruneStale } from "../../src/locks/prune.ts";
import { ORPHAN_TEMP_AGE_MS } from "../../src/locks/store.ts";

/** What one pruned item names. */
function label(p: Pruned): string {
  switch (p.kind) {
    case "orphan-temp":
      return p.file;
    case "unused-names":
      return p.names.join(",");
    default:
      return p.name;
  }
}

Deno.test("pruning removes what holds nothing, audited, and leaves live locks and freezes", async () => {
  using dir = tempDir();
  const layout = layoutOf(dir.path);
  ensureLayout(layout);
  const start = Date.now();
  let clock = start;
  const probe = new FakeProbe().add({ pid: 100 }).add({ pid: 200 });
  const events: AuditEvent[] = [];
  const ctx: LockContext = {
    layout,
    now: () => clock,
    probe,
    audit: { append: (event) => void events.push(event) },
    actor: { owner: "tester", host: "box", pid: 1, agentId: "pruner" },
  };
  const take = (name: string, pid: number, ttlMs?: number) =>
    tryAcquire(ctx, { name, kind: "lock", claim: flagClaim(`a${pid}`, pid), ttlMs });
  assertEquals((await take("live", 100)).kind, "acquired");
  assertEquals((await take("dead", 200)).kind, "acquired");
  assertEquals((await take("expired", 100, 1_000)).kind, "acquired");
  const frozen = (name: string, ttlMs: number) =>
    freeze(ctx, { name, owner: "tester", host: "box", agentId: "x", ttlMs });
  assertEquals((await frozen("old", 1_000)).kind, "frozen");
  assertEquals((await frozen("new", 3_600_000)).kind, "frozen");
  Deno.writeTextFileSync(`${layout.locks}/empty.json`, "");
  Deno.writeTextFileSync(`${layout.tmp}/left.tmp`, "x");
  const old = new Date(start - ORPHAN_TEMP_AGE_MS - 1_000);
  Deno.utimeSync(`${layout.tmp}/left.tmp`, old, old);
  Deno.utimeSync(`${layout.locks}/empty.json`, old, old);

  probe.processes.delete(200);
  clock = start + 2_000;
  events.length = 0;
  const only = await pruneStale(ctx, flagClaim("pruner", 1), "dead");
  assertEquals(only.map(label), ["dead"]);

  const pruned = await pruneStale(ctx, flagClaim("pruner", 1));
  assertEquals(pruned.map((p) => [p.kind, label(p)]), [
    ["unreadable-lock", "empty"],
    ["stale-lock", "expired"],
    ["expired-freeze", "old"],
    ["orphan-temp", "left.tmp"],
  ]);
  assertEquals(events.map((e) => `${e.event} ${e.name}`), [
    "stale-break dead",
    "corrupt-break empty",
    "stale-break expired",
    "freeze-expire old",
  ]);
  assertEquals([...Deno.readDirSync(layout.locks)].map((e) => e.name), ["live.json"]);
  assertEquals([...Deno.readDirSync(layout.freezes)].map((e) => e.name), ["new.json"]);
});
