/**
 * The rehearsal (src/locks/rehearse.ts): a waiter, and a guard while its command runs, take and
 * release their name once in a scratch root under tmp/ to warm the hand-off path. It must leave
 * nothing behind (nor when killed inside it: the next lokt clears what it left), write nothing to
 * the audit log, and reach halt points of its own, so kills aimed at the real take land there.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import {
  auditEvents,
  dirNames,
  finish,
  HALTING_MAIN,
  holderEnv,
  lokt,
  startLokt,
  tempDir,
  until,
} from "../helpers/cli.ts";

/** The scratch roots of rehearsals under `root`'s tmp/. */
function scratchRoots(root: string): string[] {
  return dirNames(`${root}/tmp`).filter((n) => n.startsWith("rehearsal."));
}

Deno.test("a waiter's rehearsal has its own halt points: a kill aimed at the real take lands there", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const held = await lokt(["lock", "x"], { env: holderEnv(root, "first") });
  assertEquals(held.code, 0, held.stderr);
  const waiter = startLokt(
    ["lock", "x", "--wait", "--quiet"],
    holderEnv(root, "second", { LOKT_HALT_AT: "acquire.published" }),
    HALTING_MAIN,
  );
  await until("the waiter's ticket", () => dirNames(`${root}/queue/x`).length === 1);
  // The rehearsal runs right after the ticket is taken and passes acquire.published on its
  // scratch files: had that counted, the waiter would be dead with the first holder's lock.
  const released = await lokt(["unlock", "x"], { env: holderEnv(root, "first") });
  assertEquals(released.code, 0, released.stderr);
  const result = await finish(waiter);
  assertEquals(result.code, 137, "killed by SIGKILL at its halt point");
  assertMatch(result.stderr, /halted at acquire\.published\n/);
  const record = JSON.parse(Deno.readTextFileSync(`${root}/locks/x.json`));
  assertEquals(record.agent_id, "second", "the real take published the waiter's record");
  assertEquals(scratchRoots(root), [], "the rehearsal had finished and cleared its scratch root");
  const events = auditEvents(root).map((e) => `${e.event}:${e.agent_id}`);
  assertEquals(
    events,
    ["acquire:first", "wait:second", "release:first"],
    "nothing from the rehearsal",
  );
});

Deno.test("a waiter killed inside its rehearsal leaves a scratch root that the next lokt removes", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const held = await lokt(["lock", "x"], { env: holderEnv(root, "first") });
  assertEquals(held.code, 0, held.stderr);
  // Bounded: a waiter that never rehearses would wait out its timeout and fail the test.
  const waiter = await lokt(["lock", "x", "--wait", "--timeout", "20s", "--quiet"], {
    env: holderEnv(root, "second", { LOKT_HALT_AT: "rehearsal.acquire.published" }),
    entry: HALTING_MAIN,
  });
  assertEquals(waiter.code, 137, waiter.stderr);
  assertMatch(waiter.stderr, /halted at rehearsal\.acquire\.published\n/);
  assertEquals(scratchRoots(root).length, 1, "the killed rehearsal's scratch root is there");
  const record = JSON.parse(Deno.readTextFileSync(`${root}/locks/x.json`));
  assertEquals(record.agent_id, "first", "the real lock was never touched");

  // Any later take, of any name, clears it: its writer is gone.
  const other = await lokt(["lock", "y"], { env: holderEnv(root, "third") });
  assertEquals(other.code, 0, other.stderr);
  assertEquals(dirNames(`${root}/tmp`), []);
});

Deno.test("a guard killed inside the rehearsal it runs beside its command leaves nothing behind", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  // A command that outlasts the rehearsal: a guard whose command has ended does not rehearse.
  // Killed, the guard leaves it running, holding the lock until it ends.
  const guard = await lokt(["guard", "x", "--", "sleep", "1"], {
    env: holderEnv(root, "g", { LOKT_HALT_AT: "rehearsal.release.removed" }),
    entry: HALTING_MAIN,
  });
  assertEquals(guard.code, 137, guard.stderr);
  assertEquals(scratchRoots(root).length, 1);
  const next = await lokt(["guard", "x", "--wait", "--", "true"], { env: holderEnv(root, "h") });
  assertEquals(next.code, 0, next.stderr);
  assertEquals(dirNames(`${root}/tmp`), []);
  assertEquals(dirNames(`${root}/locks`), []);
});

Deno.test("a guard rehearses while its command runs and leaves tmp/ empty and the audit log exact", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "g");
  const run = await lokt(["guard", "x", "--", "sleep", "0.3"], { env });
  assertEquals(run.code, 0, run.stderr);
  assertEquals(dirNames(`${root}/tmp`), []);
  // The renewal records the command's process in the lock; nothing comes from the rehearsal.
  assertEquals(auditEvents(root).map((e) => e.event), ["acquire", "renew", "release"]);
  assertEquals(dirNames(`${root}/locks`), []);
  assertEquals(dirNames(`${root}/queue`), []);
});

Deno.test("a scratch root left by a killed process is reported by doctor and pruned once old", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "p");
  assertEquals((await lokt(["lock", "y"], { env })).code, 0);
  const old = `${root}/tmp/rehearsal.4242.deadbeef`;
  const young = `${root}/tmp/rehearsal.4343.cafecafe`;
  for (const scratch of [old, young]) {
    Deno.mkdirSync(`${scratch}/locks`, { recursive: true });
    Deno.writeTextFileSync(`${scratch}/locks/y.json`, "{}");
  }
  const twoMinutesAgo = new Date(Date.now() - 120_000);
  Deno.utimeSync(old, twoMinutesAgo, twoMinutesAgo);
  const doctor = await lokt(["doctor", "--json"], { env });
  const checks = JSON.parse(doctor.stdout).checks as {
    id: string;
    status: string;
    message: string;
  }[];
  const orphaned = checks.find((c) => c.id === "orphaned_tmp")!;
  assertEquals(orphaned.status, "warn");
  assertMatch(orphaned.message, /rehearsal\.4242\.deadbeef/);
  const pruned = await lokt(["status", "--prune-expired"], { env });
  assertEquals(pruned.code, 0, pruned.stderr);
  assertMatch(pruned.stdout + pruned.stderr, /tmp\/rehearsal\.4242\.deadbeef/);
  assertEquals(dirNames(`${root}/tmp`), ["rehearsal.4343.cafecafe"], "the young one stays");
  assert(Deno.statSync(`${root}/locks/y.json`).isFile, "the real lock is untouched");
});
