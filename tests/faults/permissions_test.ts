/**
 * Fault: the lock root cannot be written, or not even read, by the user running lokt. Root
 * ignores file permissions, so these run lokt as `nobody` (through `setpriv`) when the tests run
 * as root. Every refusal is a clear error with a hint; nothing held is lost.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { auditEvents, holderEnv, tempDir } from "../helpers/cli.ts";
import { assertCleanError, explainSkip, unprivileged } from "./helpers.ts";

const scratch = tempDir("lokt-fault-");
globalThis.addEventListener("unload", () => scratch[Symbol.dispose]());
const user = await unprivileged(scratch.path);
const skip = explainSkip("permissions", typeof user === "string" ? user : undefined);
const PERMISSION = /Permission denied \(os error 13\)/;
const HINT = /^hint: check the permissions of the lock root/m;

/** A root owned by the unprivileged user, holding the lock "held" (10 minutes). */
async function rootWithLock(name: string): Promise<{ root: string; env: Record<string, string> }> {
  if (typeof user === "string") throw new Error(user);
  const root = `${scratch.path}/${name}`;
  Deno.mkdirSync(root, { mode: 0o700 });
  user.own(root);
  const env = holderEnv(root, "agent-a");
  const took = await user.lokt(["lock", "held", "--ttl", "10m"], env);
  assertEquals(took.code, 0, took.stderr);
  return { root, env };
}

function snapshot(root: string): string[] {
  return [
    Deno.readTextFileSync(`${root}/locks/held.json`),
    Deno.readTextFileSync(`${root}/audit.log`),
  ];
}

Deno.test({
  name:
    "a read-only locks directory refuses lock, refresh and unlock clearly; status still reads it",
  ignore: skip,
  async fn() {
    if (typeof user === "string") throw new Error(user);
    const { root, env } = await rootWithLock("read-only-locks");
    const before = snapshot(root);
    Deno.chmodSync(`${root}/locks`, 0o500);
    try {
      const other = await user.lokt(["lock", "other"], env);
      assertEquals(other.code, 1);
      assertCleanError(other, /^error: cannot create .*\/locks\/other\.json: Permission denied/m);
      assertMatch(other.stderr, HINT);

      const refresh = await user.lokt(["lock", "held", "--ttl", "1h"], env);
      assertEquals(refresh.code, 1);
      assertCleanError(refresh, /^error: cannot update .*\/locks\/held\.json: Permission denied/m);

      const unlock = await user.lokt(["unlock", "held"], env);
      assertEquals(unlock.code, 1);
      assertCleanError(unlock, /^error: cannot remove .*\/locks\/held\.json: Permission denied/m);

      const status = await user.lokt(["status"], env);
      assertEquals(status.code, 0, status.stderr);
      assertMatch(status.stdout, /^held\s+live\s+tester@/m);
      assertEquals((await user.lokt(["exists", "held"], env)).code, 0);
      assertEquals(snapshot(root), before, "the lock and the audit log are unchanged");
      assertEquals([...Deno.readDirSync(`${root}/tmp`)].length, 0, "no temporary file left");
    } finally {
      Deno.chmodSync(`${root}/locks`, 0o700);
    }
    const unlock = await user.lokt(["unlock", "held"], env);
    assertEquals(unlock.code, 0, "once writable again, the holder releases its lock");
    assertEquals(auditEvents(root).map((e) => e.event), ["acquire", "release"]);
  },
});

Deno.test({
  name: "a read-only root (every directory 0500) refuses every change clearly and loses nothing",
  ignore: skip,
  async fn() {
    if (typeof user === "string") throw new Error(user);
    const { root, env } = await rootWithLock("read-only-root");
    const before = snapshot(root);
    const dirs = [
      root,
      ...[...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => `${root}/${e.name}`),
    ];
    for (const d of dirs) Deno.chmodSync(d, 0o500);
    try {
      for (const args of [["lock", "other"], ["unlock", "held"], ["unlock", "held", "--force"]]) {
        const result = await user.lokt(args, env);
        assertEquals(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
        assertCleanError(result, PERMISSION);
        assertMatch(result.stderr, HINT);
      }
      const status = await user.lokt(["status", "held"], env);
      assertEquals(status.code, 0, status.stderr);
      assertEquals(snapshot(root), before);
    } finally {
      for (const d of dirs) Deno.chmodSync(d, 0o700);
    }
  },
});

Deno.test({
  name: "a root the user cannot enter gives a permission error with a hint from every command",
  ignore: skip,
  async fn() {
    if (typeof user === "string") throw new Error(user);
    const { root, env } = await rootWithLock("no-access");
    const before = snapshot(root);
    Deno.chmodSync(root, 0o000);
    try {
      const commands = [
        ["lock", "held"],
        ["lock", "other"],
        ["unlock", "held"],
        ["unlock", "held", "--force"],
        ["status"],
        ["status", "held"],
        ["exists", "held"],
        ["why", "held"],
        ["freeze", "held", "--ttl", "1m"],
        ["audit"],
      ];
      for (const args of commands) {
        const result = await user.lokt(args, env);
        assertEquals(result.code, 1, `${args.join(" ")} exits 1: ${result.stderr}`);
        assertCleanError(result, PERMISSION);
        assertMatch(result.stderr, HINT, args.join(" "));
      }
    } finally {
      Deno.chmodSync(root, 0o700);
    }
    assertEquals(snapshot(root), before, "the lock and the audit log are unchanged");
  },
});

Deno.test({
  name: "a root that cannot be created says so, and where",
  ignore: skip,
  async fn() {
    if (typeof user === "string") throw new Error(user);
    const parent = `${scratch.path}/not-writable`;
    Deno.mkdirSync(parent, { mode: 0o755 }); // owned by this user, not by the unprivileged one
    const result = await user.lokt(["lock", "x"], holderEnv(`${parent}/root`, "agent-a"));
    assertEquals(result.code, 1);
    assertCleanError(
      result,
      /^error: cannot create the lock root .*\/not-writable\/root: Permission denied/m,
    );
    assert([...Deno.readDirSync(parent)].length === 0, "nothing was created");
  },
});
