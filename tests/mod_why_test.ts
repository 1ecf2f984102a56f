/** The library's `why`: the same diagnosis as `lokt why`, read-only. */

import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { tempDir } from "./helpers/cli.ts";
import { acquire, why } from "../mod.ts";

Deno.test("library why: free without creating the root, held by a handle, its own with its lock id", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const free = why("build", { root, owner: "bob" });
  assertEquals([free.outcome.kind, free.acquirable, free.rootExists, free.fence], [
    "free",
    true,
    false,
    0,
  ]);
  let created = true;
  try {
    Deno.statSync(root);
  } catch {
    created = false;
  }
  assert(!created, "why created no root");

  await using lock = await acquire("build", { root, owner: "alice" });
  const auditBefore = Deno.readTextFileSync(`${root}/audit.log`);
  const held = why("build", { root, owner: "bob", lockId: "" });
  assertEquals([held.outcome.kind, held.acquirable, held.fence], ["held", false, lock.fence]);
  assertEquals(held.reasons.map((r) => r.type), ["held"]);
  assertMatch(held.reasons[0].message, /^Held by alice@.* \(guard PID \d+, alive\) for /);
  assertEquals(held.suggestions.map((s) => s.action), [
    "lokt lock build --wait",
    "lokt unlock build --force",
  ]);

  const mine = why("build", { root, owner: "alice", lockId: lock.lockId });
  assertEquals([mine.outcome, mine.acquirable], [{ kind: "self-held", nested: true }, true]);
  assertEquals(Deno.readTextFileSync(`${root}/audit.log`), auditBefore, "no audit line");
});
