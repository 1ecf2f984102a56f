/**
 * Fault: the file system of the lock root is full (a 64 KiB tmpfs inside `unshare -m`, filled to
 * the last byte). Operations that need space fail with a clear error and change nothing; the
 * audit log only warns when it cannot be written, and loses no line that was written before.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { holderEnv, tempDir } from "../helpers/cli.ts";
import { decodeEventLine } from "../../src/audit/event.ts";
import { assertCleanError, explainSkip, mountNamespaceProblem, TmpfsNamespace } from "./helpers.ts";

const skip = explainSkip("full file system", await mountNamespaceProblem());
const AUDIT_WARNING = /^warning: could not write the audit log .*audit\.log: /m;

Deno.test({
  name:
    "on a full disk, lock fails clearly and changes nothing; the audit log only warns and keeps every line",
  ignore: skip,
  async fn() {
    using dir = tempDir("lokt-fault-");
    await using ns = await TmpfsNamespace.open(dir.path, 64);
    const root = `${dir.path}/root`;
    const a = holderEnv(root, "agent-a");
    // A long owner name makes each of b's audit lines long, so the log's last page fills fast.
    const b = holderEnv(root, "agent-b", { LOKT_OWNER: `bob-${"o".repeat(700)}` });
    assertEquals((await ns.lokt(["lock", "held", "--ttl", "10m"], a)).code, 0);
    assertEquals((await ns.lokt(["lock", "spare", "--ttl", "10m"], a)).code, 0);
    const held = await ns.read(`${root}/locks/held.json`);
    const auditBefore = (await ns.read(`${root}/audit.log`))!;
    assert(await ns.fill() > 0, "the disk had room to fill");

    const fresh = await ns.lokt(["lock", "new"], a);
    assertEquals(fresh.code, 1, fresh.stderr);
    assertCleanError(fresh, /^error: cannot .*: No space left on device \(os error 28\)$/m);
    assertMatch(fresh.stderr, /^hint: the file system of the lock root is full/m);
    assertEquals(await ns.list(`${root}/locks`), ["held.json", "spare.json"]);
    assertEquals(await ns.list(`${root}/tmp`), [], "no temporary file left behind");

    const refresh = await ns.lokt(["lock", "held", "--ttl", "20m"], a);
    assertEquals(refresh.code, 1, refresh.stderr);
    assertCleanError(refresh, /^error: cannot write a new record for "held" .*No space left/m);
    assertEquals(await ns.read(`${root}/locks/held.json`), held, "the held lock is unchanged");

    // A refused lock stays refused (exit 2) when its audit line no longer fits: one warning.
    let warned = false;
    for (let i = 0; i < 30 && !warned; i++) {
      const denied = await ns.lokt(["lock", "held"], b);
      assertEquals(denied.code, 2, denied.stderr);
      assertMatch(denied.stderr, /^error: lock "held" held by tester@/m);
      assertNotMatch(denied.stderr, /bug in lokt|^\s+at /m);
      warned = AUDIT_WARNING.test(denied.stderr);
    }
    assert(warned, "the audit log filled up and lokt warned");

    // A lock operation that succeeds while its audit line cannot be written: exit 0, a warning.
    await ns.write(`${root}/locks/junk.json`, ""); // an empty file takes no space
    const broke = await ns.lokt(["unlock", "junk", "--force"], a);
    assertEquals(broke.code, 0, broke.stderr);
    assertMatch(broke.stdout, /removed the unreadable lock file of "junk"/);
    assertMatch(broke.stderr, AUDIT_WARNING);

    const released = await ns.lokt(["unlock", "spare"], a); // unlinking needs no space
    assertEquals([released.code, released.stdout], [0, 'released lock "spare"\n']);
    const status = await ns.lokt(["status", "held"], a);
    assertEquals(status.code, 0, status.stderr);
    assertMatch(status.stdout, /^state:\s+live/m);

    await ns.free();
    const after = await ns.lokt(["lock", "new"], a);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(await ns.read(`${root}/locks/held.json`), held);

    const audit = (await ns.read(`${root}/audit.log`))!;
    assert(audit.startsWith(auditBefore), "every line written before the disk filled is kept");
    const lines = audit.split("\n").filter((l) => l !== "");
    const unreadable = lines.filter((l) => decodeEventLine(l) === undefined);
    assertEquals(unreadable.length, 1, "only the line the full disk cut short is unreadable");
    const events = lines.map(decodeEventLine).filter((e) => e !== undefined).map((e) => e.event);
    assertEquals(events.slice(0, 2), ["acquire", "acquire"]);
    assertEquals(events.slice(-2), ["release", "acquire"], "lines after the fragment are whole");
  },
});
