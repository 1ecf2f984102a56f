/**
 * Doctor's pure judgements: mount lookup, permissions, clock, liveness, audit log health,
 * identity.
 */

import { encodeEvent } from "../../src/audit/event.ts";
import { judgeAudit, scanTail } from "../../src/doctor/audit_log.ts";
import { judgeClock } from "../../src/doctor/clock.ts";
import { mountOf, parseMountInfo } from "../../src/doctor/filesystem.ts";
import { identityCheck } from "../../src/doctor/identity.ts";
import { judgeLiveness } from "../../src/doctor/liveness.ts";
import { judgePermissions, type PathMode } from "../../src/doctor/root.ts";
import { assertEquals, assertMatch } from "../helpers/assert.ts";

const MOUNTINFO = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "35 22 0:31 / /home rw,relatime shared:2 - xfs /dev/sdb1 rw",
  "36 35 0:40 / /home/ana/shared\\040drive rw - nfs4 srv:/export rw,vers=4.2",
  "37 22 0:41 / /home2 rw - tmpfs tmpfs rw",
  "garbage line",
].join("\n");

Deno.test("the root's mount is the longest mount point containing it, escapes decoded", () => {
  const mounts = parseMountInfo(MOUNTINFO);
  assertEquals(mounts.length, 4);
  const fs = (path: string) => mountOf(path, mounts)?.fsType;
  assertEquals(fs("/home/ana/repo/.git/lokt"), "xfs");
  assertEquals(fs("/home/ana/shared drive/x/.git/lokt"), "nfs4");
  assertEquals(fs("/home2x/y"), "ext4", "a mount point is matched on whole path components");
  assertEquals(fs("/home2"), "tmpfs");
  assertEquals(fs("/var/tmp"), "ext4");
});

function mode(path: string, bits: number, isDirectory = true, uid = 1000): PathMode {
  return { path, mode: bits, uid, isDirectory };
}

Deno.test("permissions: private is ok, group or other access warns, unusable fails", () => {
  const table: [PathMode[], string, RegExp][] = [
    [[mode("", 0o700), mode("locks", 0o700), mode("audit.log", 0o600, false)], "ok", /3 paths/],
    [
      [mode("", 0o700), mode("locks", 0o755)],
      "warn",
      /group or others can access locks\/ \(0755\)/,
    ],
    [[mode("audit.log", 0o644, false)], "warn", /audit\.log \(0644\)/],
    [[mode("", 0o500)], "fail", /the owner cannot use \.\/ \(0500\)/],
    [[mode("", 0o700, true, 0)], "warn", /owned by another user/],
  ];
  for (const [modes, status, message] of table) {
    const result = judgePermissions(modes, 1000, "/r");
    assertEquals(result.status, status, JSON.stringify(modes));
    assertMatch(result.message, message);
  }
});

Deno.test("clock: agreement is ok, a stepped clock or a record from the future warns", () => {
  const now = Date.UTC(2026, 0, 1);
  const calm = { wallMs: now, intervalDriftMs: 0.4, sinceStartDriftMs: -2 };
  assertEquals(judgeClock(calm, []).status, "ok");
  assertEquals(judgeClock({ ...calm, intervalDriftMs: 3_000 }, []).status, "warn");
  const future = judgeClock(calm, [{ name: "build", aheadMs: 90_000 }]);
  assertEquals(future.status, "warn");
  assertMatch(future.message, /1 record\(s\) acquired in the future \(up to 1m30s ahead\): build/);
  assertEquals(judgeClock({ ...calm, wallMs: Date.UTC(2001, 0, 1) }, []).status, "fail");
});

Deno.test("liveness: ok when self is alive and exited or recycled pids are dead", () => {
  const good = { selfStart: "123", self: "alive", recycled: "dead", exited: "dead" };
  assertEquals(judgeLiveness(good, "linux").status, "ok");
  assertEquals(judgeLiveness({ ...good, exited: "alive" }, "linux").status, "fail");
  assertEquals(judgeLiveness({ ...good, self: "dead" }, "linux").status, "fail");
  assertEquals(judgeLiveness({ ...good, recycled: "alive" }, "linux").status, "warn");
  const blind = judgeLiveness({ self: "unknown", recycled: "unknown" }, "windows");
  assertEquals(blind.status, "warn");
  assertMatch(blind.message, /judged by their TTL alone/);
});

Deno.test("audit health: unparsable recent lines warn, a log far past its cap warns", () => {
  const line = encodeEvent({
    ts: 0,
    event: "acquire",
    name: "a",
    actor: { owner: "o", host: "h", pid: 1, agentId: "" },
  });
  const bytes = new TextEncoder().encode(`ut line\n${line}not json\n${line}{"half":`);
  assertEquals(scanTail(bytes, true), { lines: 3, bad: 1 }, "the cut first line is not counted");
  assertEquals(scanTail(bytes, false), { lines: 4, bad: 2 });
  const facts = {
    exists: true,
    sizeBytes: 1000,
    rotated: 1,
    rotatedBytes: 5000,
    scannedBytes: 1000,
    scannedLines: 10,
    unparsable: 0,
  };
  assertEquals(judgeAudit(facts, 8000, "/r/audit.log").status, "ok");
  assertEquals(judgeAudit({ ...facts, unparsable: 2 }, 8000, "/r/audit.log").status, "warn");
  assertEquals(judgeAudit({ ...facts, sizeBytes: 20_000 }, 8000, "/r/audit.log").status, "warn");
  assertEquals(judgeAudit({ ...facts, exists: false }, 8000, "/r/audit.log").status, "ok");
});

Deno.test("identity: a derived agent is ok, an identity that names only the lokt process warns", () => {
  const base = { owner: "ana", ownerSource: "USER", processScoped: false };
  const session = identityCheck({
    ...base,
    agentId: "session:60-s60",
    agentSource: "session leader (bash), pid 60",
    anchorPid: 60,
  });
  assertEquals(session.status, "ok");
  const alone = identityCheck({
    ...base,
    processScoped: true,
    agentId: "process:100-1a2b3c4d",
    agentSource: "this lokt process alone (detection is off: LOKT_NO_DETECT)",
  });
  assertEquals(alone.status, "warn");
  assertMatch(alone.message, /each lokt command is a holder of its own/);
});
