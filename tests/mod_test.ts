/** The library API (`mod.ts`): acquire, release, withLock, status, on real files. */

import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { tempDir } from "./helpers/cli.ts";
import { acquire, LockHeldError, release, status, withLock } from "../mod.ts";

Deno.test("acquire holds a name for this process until the handle releases it", async () => {
  using dir = tempDir();
  const lock = await acquire("build", { root: dir.path, ttl: "5m" });
  assert(lock.fence >= 1);
  await assertRejects(acquire("build", { root: dir.path }), LockHeldError);
  const listed = status({ root: dir.path });
  assertEquals(listed.map((s) => [s.name, s.state, s.reason]), [["build", "live", "guard-alive"]]);
  assertEquals(await lock.release(), true);
  assertEquals(status({ root: dir.path }), []);
  const again = await acquire("build", { root: dir.path });
  assert(again.fence > lock.fence, "a new acquisition gets a larger fence");
  await again.release();
});

Deno.test("withLock releases however the function ends, and await using releases at scope end", async () => {
  using dir = tempDir();
  assertEquals(await withLock("db", { root: dir.path }, (lock) => lock.name), "db");
  const boom = await assertRejects(
    withLock("db", { root: dir.path }, () => Promise.reject(new Error("boom"))),
    Error,
  );
  assertEquals(boom.message, "boom");
  assertEquals(status({ root: dir.path }), [], "released after a throw");
  {
    await using _lock = await acquire("db", { root: dir.path });
    assertEquals(status({ root: dir.path }).length, 1);
  }
  assertEquals(status({ root: dir.path }), []);
});

Deno.test("release breaks only stale locks with break-stale, any lock with force; the holder learns it lost", async () => {
  using dir = tempDir();
  let lost = "";
  const lock = await acquire("deploy", {
    root: dir.path,
    ttl: 600,
    onLost: (name) => (lost = name),
  });
  const refused = await release("deploy", { root: dir.path, mode: "break-stale" });
  assertEquals(refused.kind, "not-stale");
  assertEquals((await release("deploy", { root: dir.path, mode: "force" })).kind, "removed");
  assertEquals((await release("deploy", { root: dir.path, mode: "force" })).kind, "not-found");
  const deadline = Date.now() + 5_000;
  while (lost === "" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assertEquals(lost, "deploy", "onLost is called at the next renewal");
  assertEquals(await lock.release(), false, "a lost lock reports false on release");
});
