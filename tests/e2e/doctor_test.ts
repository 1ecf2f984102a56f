/** End-to-end: `lokt doctor` on healthy, damaged and missing roots. */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";

interface CheckJson {
  id: string;
  status: "ok" | "warn" | "fail";
  message: string;
  hint: string;
  details: Record<string, unknown>;
}

const CHECK_IDS = [
  "backend",
  "root",
  "identity",
  "layout",
  "permissions",
  "writable",
  "filesystem",
  "clock",
  "liveness",
  "stale_locks",
  "corrupt_locks",
  "orphaned_tmp",
  "queue",
  "names",
  "audit_log",
  "guard_rules",
];

async function doctorJson(root: string, extraEnv: Record<string, string> = {}) {
  const result = await lokt(["doctor", "--json"], {
    env: holderEnv(root, "agent-doc", extraEnv),
  });
  const report = JSON.parse(result.stdout);
  const byId = new Map<string, CheckJson>(report.checks.map((c: CheckJson) => [c.id, c]));
  return { code: result.code, stderr: result.stderr, report, byId };
}

Deno.test("doctor --json on a healthy root is valid JSON with every check and no failure", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals(
    (await lokt(["lock", "build", "--ttl", "5m"], { env: holderEnv(root, "a") })).code,
    0,
  );
  const { code, stderr, report, byId } = await doctorJson(root);
  assertEquals(code, 0, stderr);
  assertEquals(report.ok, true);
  assertEquals(report.root, {
    path: root,
    method: "env",
    detail: `LOKT_ROOT=${root}`,
    exists: true,
  });
  assertEquals([...byId.keys()], CHECK_IDS);
  assertEquals(report.backend, { kind: "files", location: root, source: "default" });
  assertEquals(byId.get("backend")!.message, `files at ${root} (default)`);
  const failed = [...byId.values()].filter((c) => c.status === "fail");
  assertEquals(failed, []);
  assertEquals(report.summary.fail, 0);
  assertEquals(byId.get("writable")!.status, "ok");
  assertEquals(byId.get("permissions")!.status, "ok");
  assertEquals(byId.get("corrupt_locks")!.status, "ok");
  assertEquals(byId.get("orphaned_tmp")!.status, "ok");
  assertEquals(byId.get("identity")!.details.agent_id, "agent-doc");
  assertEquals(byId.get("audit_log")!.details.scanned_lines, 1);
  assertEquals([...Deno.readDirSync(`${root}/tmp`)], [], "the write probe cleaned up after itself");
});

Deno.test("doctor flags a planted 0-byte lock file and an orphaned temporary file", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals((await lokt(["lock", "ok-lock"], { env: holderEnv(root, "a") })).code, 0);
  Deno.writeFileSync(`${root}/locks/broken.json`, new Uint8Array(), { mode: 0o600 });
  const orphan = `${root}/tmp/build.4242.deadbeef.tmp`;
  Deno.writeTextFileSync(orphan, '{"half": ', { mode: 0o600 });
  const twoMinutesAgo = new Date(Date.now() - 120_000);
  Deno.utimeSync(orphan, twoMinutesAgo, twoMinutesAgo);
  Deno.writeTextFileSync(`${root}/tmp/fresh.1.cafe.tmp`, "", { mode: 0o600 });

  const { report, byId } = await doctorJson(root);
  const corrupt = byId.get("corrupt_locks")!;
  assertEquals(corrupt.status, "warn");
  assertMatch(corrupt.message, /locks\/broken\.json \(the file is empty\)/);
  assertMatch(corrupt.hint, /lokt unlock NAME --force/);
  const orphaned = byId.get("orphaned_tmp")!;
  assertEquals(orphaned.status, "warn");
  assertMatch(
    orphaned.message,
    /1 leftover temporary file\(s\) .*build\.4242\.deadbeef\.tmp \(2m\ds old\)/,
  );
  assertEquals(
    (orphaned.details.orphans as { name: string }[]).map((o) => o.name),
    ["build.4242.deadbeef.tmp"],
    "a file younger than a minute may still be in use and is not flagged",
  );
  assert(report.summary.warn >= 2);

  const text = await lokt(["doctor"], { env: holderEnv(root, "agent-doc") });
  assertEquals(text.code, 0, "warnings alone do not fail doctor");
  assertMatch(text.stdout, /^warn\s+corrupt_locks\s+1 unusable file/m);
  assertMatch(text.stdout, /^warn\s+orphaned_tmp\s+/m);
  assertMatch(text.stdout, /fix: lokt status --prune-expired removes them/);
  assertMatch(text.stdout, /16 checks: \d+ ok, \d+ warning\(s\), 0 failure\(s\)\n$/);

  // The fix it suggests works: the old file goes, the young one stays.
  const pruned = await lokt(["status", "--prune-expired"], { env: holderEnv(root, "agent-doc") });
  assertEquals(pruned.code, 0, pruned.stderr);
  assertMatch(pruned.stdout, /pruned temporary file tmp\/build\.4242\.deadbeef\.tmp/);
  assertEquals([...Deno.readDirSync(`${root}/tmp`)].map((e) => e.name), ["fresh.1.cafe.tmp"]);
});

Deno.test("doctor counts the names kept on disk, and status --prune-expired reclaims the unused", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-doc");
  assertEquals((await lokt(["lock", "build", "--ttl", "5m"], { env })).code, 0);
  // What an older lokt left: a counter of a released name, an empty queue directory.
  Deno.writeTextFileSync(`${root}/fences/port-3000-a1`, `${"7".padStart(20, "0")}\n`);
  Deno.mkdirSync(`${root}/queue/feature-x`);
  const before = (await doctorJson(root)).byId.get("names")!;
  assertEquals(before.status, "ok");
  assertEquals(before.details, { fence_files: 2, queue_dirs: 1, unused: 2 });
  assertMatch(
    before.message,
    /^2 fence file\(s\), 1 queue directory\(ies\); 2 unused name\(s\): feature-x, port-3000-a1 \(lokt status --prune-expired reclaims them\)$/,
  );

  const pruned = await lokt(["status", "--prune-expired"], { env });
  assertEquals(pruned.code, 0, pruned.stderr);
  assertMatch(
    pruned.stdout,
    /^pruned 2 unused name\(s\): feature-x, port-3000-a1 \(fence files, empty queues\)$/m,
  );
  const after = (await doctorJson(root)).byId.get("names")!;
  assertEquals(after.details, { fence_files: 1, queue_dirs: 0, unused: 0 });
  assertEquals(after.message, "1 fence file(s), 0 queue directory(ies); no unused name");
  // The reclaimed counter lives on in the floor: the name's next holder gets a larger fence.
  assertEquals((await lokt(["lock", "port-3000-a1"], { env })).code, 0);
  const status = JSON.parse((await lokt(["status", "port-3000-a1", "--json"], { env })).stdout);
  assertEquals(status.fence, 8);
});

Deno.test("doctor never creates a missing root, and fails (exit 1) when the root is a file", async () => {
  using dir = tempDir();
  const missing = `${dir.path}/not-yet`;
  const absent = await doctorJson(missing);
  assertEquals(absent.code, 0, absent.stderr);
  assertEquals(absent.report.root.exists, false);
  assertEquals(absent.byId.get("writable")!.details.skipped, true);
  assertEquals([...Deno.readDirSync(dir.path)], [], "nothing was created");

  const file = `${dir.path}/a-file`;
  Deno.writeTextFileSync(file, "not a directory");
  const broken = await doctorJson(file);
  assertEquals(broken.code, 1);
  assertEquals(broken.report.ok, false);
  assertEquals(broken.byId.get("root")!.status, "fail");
  assertMatch(broken.byId.get("root")!.message, /exists but is not a directory/);
});

Deno.test("a backend lokt does not know fails the backend check, and the root is still checked", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const { code, report, byId } = await doctorJson(root, {
    LOKT_BACKEND: "mysql://lokt:s3cret@db.internal/lokt",
  });
  assertEquals(code, 1);
  assertEquals(report.backend, null);
  const backend = byId.get("backend")!;
  assertEquals(backend.status, "fail");
  assertMatch(
    backend.message,
    /^LOKT_BACKEND=mysql:\/\/lokt:\*\*\*@db\.internal\/lokt names no backend/,
  );
  assertMatch(backend.hint, /postgres:\/\/USER@HOST/);
  assertEquals([...byId.keys()], CHECK_IDS);
});
