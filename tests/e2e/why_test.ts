/**
 * End-to-end: `lokt why NAME` for every scenario of its spec (text, JSON and exit code), plus the
 * fence, the queue and the self-held case; and proof that it changes nothing on disk.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { type CliResult, deadPid, holderEnv, lokt, MAIN, tempDir } from "../helpers/cli.ts";
import { encodeLock, type LockRecord } from "../../src/locks/lockfile.ts";
import { formatIso } from "../../src/time.ts";

const HOST = Deno.hostname();

function as(root: string, owner: string, extra: Record<string, string> = {}) {
  return holderEnv(root, `agent-${owner}`, { LOKT_OWNER: owner, ...extra });
}

/** `lokt why NAME` and `lokt why NAME --json`, side by side. */
async function why(
  name: string,
  env: Record<string, string>,
  cwd?: string,
): Promise<{ text: CliResult; json: CliResult; out: Record<string, unknown> }> {
  const [text, json] = await Promise.all([
    lokt(["why", name], { env, cwd }),
    lokt(["why", name, "--json"], { env, cwd }),
  ]);
  assertEquals(json.code, text.code, "the same exit code with and without --json");
  assertEquals([text.stderr, json.stderr], ["", ""]);
  return { text, json, out: JSON.parse(json.stdout) };
}

/** Writes a lock (or freeze) record as another lokt would have. */
function plant(root: string, over: Partial<LockRecord> & { name: string }): LockRecord {
  const record: LockRecord = {
    lockId: "0123456789abcdef0123456789abcdef",
    kind: "lock",
    owner: "alice",
    host: HOST,
    agentId: "agent-alice",
    pid: 0,
    acquiredMs: Date.now() - 60_000,
    fence: 1,
    ...over,
  };
  const dir = `${root}/${record.kind === "freeze" ? "freezes" : "locks"}`;
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(`${dir}/${record.name}.json`, encodeLock(record));
  return record;
}

/** Writes a queue ticket as a waiting lokt would have. */
function plantTicket(
  root: string,
  name: string,
  seq: number,
  waiter: { pid: number; owner: string; sinceMs: number },
): void {
  const dir = `${root}/queue/${name}`;
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(
    `${dir}/${String(seq).padStart(12, "0")}.json`,
    JSON.stringify({
      pid: waiter.pid,
      pid_start: null,
      host: HOST,
      boot_id: null,
      pid_ns: null,
      owner: waiter.owner,
      agent_id: `agent-${waiter.owner}`,
      since: formatIso(waiter.sinceMs),
    }) + "\n",
  );
}

function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["60"], stdout: "null", stderr: "null" }).spawn();
}

function stop(child: Deno.ChildProcess): Promise<unknown> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  return child.status;
}

function lines(text: string): string[] {
  return text.split("\n");
}

/** The suggestion lines of the text output. */
function suggestions(text: string): string[] {
  const all = lines(text);
  const at = all.indexOf("Suggestions:");
  return at < 0 ? [] : all.slice(at + 1).filter((l) => l !== "");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

type Reason = Record<string, unknown>;

Deno.test("why: no lock says FREE, exits 0, and creates no root", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const { text, out } = await why("build", as(root, "bob"));
  assertEquals(text.code, 0);
  assertEquals(lines(text.stdout)[0], 'Lock "build" is FREE — acquisition would succeed.');
  assertMatch(text.stdout, /\n {2}Fence: 0 \(never acquired; the first holder gets 1\)\n/);
  assertMatch(text.stdout, /\n {2}Queue: empty\n/);
  assertEquals(suggestions(text.stdout), []);
  assertEquals(out, {
    name: "build",
    status: "free",
    outcome: "free",
    acquirable: true,
    message: 'Lock "build" is FREE — acquisition would succeed.',
    reason: "",
    reasons: [],
    holder: null,
    freeze: null,
    fence: 0,
    next_fence: 1,
    queue: [],
    queued_ahead: 0,
    suggestions: [],
    suggestion_notes: [],
    root_exists: false,
    slots: 1,
    held: 0,
    holders: [],
    root,
  });
  assert(!exists(root), "why created no root");
});

Deno.test("why: held by another owner on this host with a live PID is BLOCKED (exit 2): --wait or --force", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const holder = sleeper();
  try {
    const took = await lokt(["lock", "build", "--ttl", "5m", "--pid", String(holder.pid)], {
      env: as(root, "alice"),
    });
    assertEquals(took.code, 0, took.stderr);
    const { text, out } = await why("build", as(root, "bob"));
    assertEquals(text.code, 2);
    const l = lines(text.stdout);
    assertEquals(l.slice(0, 4), [
      'Lock "build" is BLOCKED:',
      "",
      `  HELD by alice@${HOST} (PID ${holder.pid}, alive)`,
      "    Agent:    agent-alice",
    ]);
    assertMatch(text.stdout, /\n {4}Acquired: \d{4}-\d\d-\d\dT[\d:.]+Z\n/);
    assertMatch(text.stdout, /\n {4}Age: {6}\d+(ms|\.\ds|s)\n/);
    assertMatch(text.stdout, /\n {4}TTL: {6}5m0s \(4m5\ds remaining\)\n/);
    assertMatch(text.stdout, /\n {4}Liveness: live: holder process alive\n/);
    assertEquals(suggestions(text.stdout), [
      "  - lokt lock build --wait",
      "  - lokt unlock build --force  (break-glass)",
    ]);

    assertEquals([out.status, out.outcome, out.reason, out.acquirable], [
      "blocked",
      "held",
      "held",
      false,
    ]);
    const [held] = out.reasons as Reason[];
    assertMatch(
      held.message as string,
      new RegExp(`^Held by alice@${HOST} \\(PID ${holder.pid}, alive\\) for \\d`),
    );
    assertEquals(
      [held.holder_owner, held.holder_host, held.holder_pid, held.pid_status, held.holder_ttl_sec],
      ["alice", HOST, holder.pid, "alive", 300],
    );
    assertEquals([held.holder_expired, held.holder_overdue_sec, held.holder_scope], [
      false,
      0,
      "local",
    ]);
    assertEquals(out.suggestions, ["lokt lock build --wait", "lokt unlock build --force"]);
    assertEquals(out.suggestion_notes, ["", "break-glass"]);
    assertEquals((out.holder as Reason).owner, "alice");
  } finally {
    await stop(holder);
  }
});

Deno.test("why: held from another host: PID liveness cannot be verified; --wait, --break-stale once the TTL runs out, --force", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const now = Date.now();
  plant(root, {
    name: "build",
    host: "build-server",
    pid: 4242,
    ttlMs: 600_000,
    expiresMs: now + 540_000,
  });
  plant(root, { name: "forever", host: "build-server", pid: 4242 });

  const { text, out } = await why("build", as(root, "bob"));
  assertEquals(text.code, 2);
  assertMatch(text.stdout, /\n {2}HELD by alice@build-server \(PID 4242\)\n/);
  assertMatch(text.stdout, /\n {4}PID liveness cannot be verified \(remote host\)\n/);
  assertMatch(text.stdout, /\n {4}TTL: {6}10m0s \(8m5\ds remaining\)\n/);
  const s = suggestions(text.stdout);
  assertEquals(s[0], "  - lokt lock build --wait");
  assertMatch(
    s[1],
    /^ {2}- lokt unlock build --break-stale {2}\(once its TTL runs out, in 8m5\ds\)$/,
  );
  assertEquals(s[2], "  - lokt unlock build --force        (break-glass)");
  assertEquals(s.length, 3);
  const [held] = out.reasons as Reason[];
  assertMatch(held.message as string, /PID liveness cannot be verified \(remote host\)$/);
  assertEquals([held.holder_scope, held.pid_status, held.holder_host], [
    "remote",
    "unknown",
    "build-server",
  ]);
  assertEquals(out.suggestions, [
    "lokt lock build --wait",
    "lokt unlock build --break-stale",
    "lokt unlock build --force",
  ]);

  const noTtl = await why("forever", as(root, "bob"));
  assertEquals(noTtl.text.code, 2, "cross-host without TTL is never stale: blocked");
  assertMatch(noTtl.text.stdout, /It has no TTL: it never goes stale; only --force removes it/);
  assertEquals(noTtl.out.suggestions, ["lokt lock forever --wait", "lokt unlock forever --force"]);
});

Deno.test("why: frozen is BLOCKED (exit 2): owner, remaining time, reason; wait, unfreeze (as its owner) or --force", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const froze = await lokt(["freeze", "build", "--ttl", "7m", "--reason", "incident 42"], {
    env: as(root, "ci"),
  });
  assertEquals(froze.code, 0, froze.stderr);

  const { text, out } = await why("build", as(root, "bob"));
  assertEquals(text.code, 2);
  const l = lines(text.stdout);
  assertEquals(l.slice(0, 3), ['Lock "build" is BLOCKED:', "", `  FROZEN by ci@${HOST}`]);
  assertMatch(l[3], /^ {4}Age: {7}\d+(ms|\.\ds|s)$/);
  assertMatch(l[4], /^ {4}Remaining: 6m5\ds$/);
  assertEquals(l[5], "    Reason:    incident 42");
  const s = suggestions(text.stdout);
  assertMatch(s[0], /^ {2}- Wait for freeze to expire \(6m5\ds remaining\)$/);
  assertMatch(s[1], /^ {2}- lokt unfreeze build +\(if you are ci\)$/);
  assertMatch(s[2], /^ {2}- lokt unfreeze build --force +\(break-glass\)$/);
  assertEquals(s.length, 3);

  assertEquals([out.status, out.outcome, out.reason], ["blocked", "frozen", "frozen"]);
  const [frozen] = out.reasons as Reason[];
  assertMatch(
    frozen.message as string,
    new RegExp(`^Frozen by ci@${HOST} for \\S+ \\(6m5\\ds remaining\\): incident 42$`),
  );
  assertEquals([frozen.freeze_owner, frozen.freeze_host, frozen.freeze_reason], [
    "ci",
    HOST,
    "incident 42",
  ]);
  assert((frozen.freeze_remaining_sec as number) > 400, "about 7 minutes remain");
  assertEquals((out.suggestions as string[]).slice(1), [
    "lokt unfreeze build",
    "lokt unfreeze build --force",
  ]);
  assertEquals((out.freeze as Reason).reason_text, "incident 42");

  const asOwner = await why("build", as(root, "ci"));
  assertEquals(asOwner.text.code, 2);
  assertEquals((asOwner.out.suggestions as string[]).slice(1), ["lokt unfreeze build"]);
});

Deno.test("why: frozen and held shows both, the freeze first, and advises on the freeze", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals((await lokt(["lock", "build", "--ttl", "5m"], { env: as(root, "alice") })).code, 0);
  assertEquals((await lokt(["freeze", "build", "--ttl", "7m"], { env: as(root, "ci") })).code, 0);
  const { text, out } = await why("build", as(root, "bob"));
  assertEquals(text.code, 2);
  const frozenAt = text.stdout.indexOf(`  FROZEN by ci@${HOST}`);
  const heldAt = text.stdout.indexOf(`  HELD by alice@${HOST} (no PID)`);
  assert(frozenAt > 0 && heldAt > frozenAt, text.stdout);
  assertEquals((out.reasons as Reason[]).map((r) => r.type), ["frozen", "held"]);
  assertEquals([
    out.outcome,
    out.reason,
    (out.holder as Reason).owner,
    (out.freeze as Reason).owner,
  ], [
    "frozen",
    "frozen",
    "alice",
    "ci",
  ]);
  assertMatch((out.suggestions as string[])[0], /^Wait for freeze to expire/);
  assertEquals((out.suggestions as string[]).slice(1), [
    "lokt unfreeze build",
    "lokt unfreeze build --force",
  ]);
});

Deno.test("why: an expired TTL is shown with how long ago; the lock would be taken over (exit 0); --break-stale or lock --wait", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const now = Date.now();
  plant(root, {
    name: "build",
    acquiredMs: now - 600_000,
    ttlMs: 300_000,
    expiresMs: now - 300_000,
  });
  const { text, out } = await why("build", as(root, "bob"));
  assertEquals(text.code, 0);
  const l = lines(text.stdout);
  assertEquals(l.slice(0, 3), [
    'Lock "build" is STALE — acquisition would succeed and take it over:',
    "",
    `  EXPIRED lock of alice@${HOST} (no PID)`,
  ]);
  assertMatch(text.stdout, /\n {4}TTL: {6}5m0s \(expired 5m\ds ago\)\n/);
  assertEquals(suggestions(text.stdout), [
    "  - lokt unlock build --break-stale",
    "  - lokt lock build --wait           (auto-prunes expired locks)",
  ]);
  assertEquals([out.status, out.outcome, out.reason], ["free", "takeover", "expired"]);
  const [expired] = out.reasons as Reason[];
  assertMatch(expired.message as string, /— TTL expired 5m\ds ago$/);
  assertEquals(expired.holder_expired, true);
  assert((expired.holder_overdue_sec as number) >= 300);
  assertEquals(out.suggestions, ["lokt unlock build --break-stale", "lokt lock build --wait"]);

  const took = await lokt(["lock", "build"], { env: as(root, "bob") });
  assertEquals(took.code, 0, "why was right: the lock is taken over");
});

Deno.test("why: a dead PID on this host is STALE (exit 0) and --break-stale removes it", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const gone = await deadPid();
  plant(root, {
    name: "build",
    pid: gone,
    pidSource: "flag",
    ttlMs: 3_600_000,
    expiresMs: Date.now() + 3_000_000,
  });
  const { text, out } = await why("build", as(root, "bob"));
  assertEquals(text.code, 0);
  assertEquals(
    lines(text.stdout)[2],
    `  STALE (dead PID) lock of alice@${HOST} (PID ${gone}, dead)`,
  );
  assertMatch(text.stdout, /\n {4}Liveness: stale: holder process gone\n/);
  assertEquals(suggestions(text.stdout), [
    "  - lokt unlock build --break-stale",
    "  - lokt lock build --wait           (auto-prunes dead locks)",
  ]);
  const [dead] = out.reasons as Reason[];
  assertEquals([out.outcome, dead.type, dead.pid_status, dead.holder_pid], [
    "takeover",
    "dead-pid",
    "dead",
    gone,
  ]);
  assertMatch(
    dead.message as string,
    new RegExp(`^Held by alice@${HOST} \\(PID ${gone}, dead\\) for 1m0s$`),
  );

  const broke = await lokt(["unlock", "build", "--break-stale"], { env: as(root, "bob") });
  assertEquals(broke.code, 0, broke.stderr);
});

Deno.test("why: a corrupted lock file: blocked (exit 2) while young, then replaceable (exit 0); --force removes it", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  Deno.mkdirSync(`${root}/locks`, { recursive: true });
  Deno.writeTextFileSync(`${root}/locks/build.json`, "{ this is not json");

  const young = await why("build", as(root, "bob"));
  assertEquals(young.text.code, 2);
  assertEquals(lines(young.text.stdout).slice(0, 4), [
    'Lock "build" is BLOCKED:',
    "",
    "  CORRUPTED lock file",
    "    Lock file contains invalid JSON",
  ]);
  assertMatch(young.text.stdout, /Counts as held until it is 5s old/);
  assertEquals(suggestions(young.text.stdout), [
    "  - lokt unlock build --force  (remove corrupted lock file)",
  ]);
  const [corrupt] = young.out.reasons as Reason[];
  assertEquals([young.out.status, corrupt.type, corrupt.blocking], ["blocked", "corrupted", true]);
  assertMatch(corrupt.message as string, /^Lock file contains invalid JSON \(not JSON/);
  assertEquals(young.out.suggestions, ["lokt unlock build --force"]);
  assertEquals(young.out.holder, null);

  const old = new Date(Date.now() - 60_000);
  Deno.utimeSync(`${root}/locks/build.json`, old, old);
  const aged = await why("build", as(root, "bob"));
  assertEquals(aged.text.code, 0, "an abandoned corrupt file is replaced by the next lock");
  assertMatch(aged.text.stdout, /^Lock "build" is STALE/);
  assertMatch(aged.text.stdout, /Old enough to be replaced by the next acquisition/);
  assertEquals(aged.out.suggestions, ["lokt unlock build --force"]);
  assertEquals((aged.out.reasons as Reason[])[0].blocking, false);

  const forced = await lokt(["unlock", "build", "--force"], { env: as(root, "bob") });
  assertEquals(forced.code, 0, forced.stderr);
});

Deno.test("why: your own lock is SELF-HELD (exit 0), and so is the lock of the guard you run under", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals((await lokt(["lock", "build", "--ttl", "5m"], { env: as(root, "alice") })).code, 0);
  const mine = await why("build", as(root, "alice"));
  assertEquals(mine.text.code, 0);
  assertEquals(lines(mine.text.stdout).slice(0, 4), [
    'Lock "build" is HELD BY YOU — acquisition would succeed (re-entry):',
    "",
    "  SELF-HELD (you already hold this lock)",
    `    Holder:   alice@${HOST} (no PID)`,
  ]);
  assertEquals(suggestions(mine.text.stdout), [
    "  - lokt unlock build  (release it)",
    "  - lokt lock build    (refresh its TTL)",
  ]);
  const [self] = mine.out.reasons as Reason[];
  assertEquals([mine.out.status, mine.out.outcome, mine.out.reason, self.type, self.nested], [
    "free",
    "self-held",
    "self-held",
    "self-held",
    false,
  ]);

  const guard = plant(root, {
    name: "deploy",
    kind: "guard",
    lockId: "feedfacefeedfacefeedfacefeedface",
    pid: Deno.pid,
  });
  const inside = await why("deploy", as(root, "bob", { LOKT_LOCK_ID: guard.lockId }));
  assertEquals(inside.text.code, 0);
  assertMatch(
    inside.text.stdout,
    /^Lock "deploy" is HELD BY YOUR GUARD — nested lokt calls pass through:/,
  );
  assertEquals([inside.out.outcome, (inside.out.reasons as Reason[])[0].nested], [
    "self-held",
    true,
  ]);
  const outside = await why("deploy", as(root, "bob"));
  assertEquals(outside.text.code, 2);
  assertEquals(
    lines(outside.text.stdout)[2],
    `  HELD by alice@${HOST} (guard PID ${Deno.pid}, alive)`,
  );
});

Deno.test("why: the queue with PID, owner and age; waiters ahead block a free name (exit 2); dead tickets are skipped", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const waiter = sleeper();
  try {
    const gone = await deadPid();
    const now = Date.now();
    plantTicket(root, "build", 1, { pid: waiter.pid, owner: "carol", sinceMs: now - 12_000 });
    plantTicket(root, "build", 2, { pid: gone, owner: "dave", sinceMs: now - 3_000 });
    const { text, out } = await why("build", as(root, "bob"));
    assertEquals(text.code, 2);
    const l = lines(text.stdout);
    assertEquals(l[0], 'Lock "build" is BLOCKED:');
    assertMatch(
      l[2],
      new RegExp(
        `^ {2}QUEUED: 1 waiter\\(s\\) queued ahead of you; first carol \\(PID ${waiter.pid}\\), waiting 1\\d`,
      ),
    );
    assertMatch(text.stdout, /\n {2}Queue: 2 ticket\(s\)\n/);
    assertMatch(
      text.stdout,
      new RegExp(
        `\n {4}1\\. carol@${HOST} \\(agent agent-carol, PID ${waiter.pid}\\), waiting 1\\d(\\.\\d)?s\n`,
      ),
    );
    assertMatch(
      text.stdout,
      new RegExp(
        `\n {4}2\\. dave@${HOST} \\(agent agent-dave, PID ${gone}\\), waiting \\d(\\.\\d)?s \\[dead: skipped\\]\n`,
      ),
    );
    assertEquals(suggestions(text.stdout), [
      "  - lokt lock build --wait  (join the queue: first come, first served)",
    ]);
    assertEquals([out.outcome, out.reason, out.queued_ahead], ["queued", "queued", 1]);
    const queue = out.queue as Reason[];
    assertEquals(queue.map((t) => [t.position, t.owner, t.pid, t.state]), [
      [1, "carol", waiter.pid, "waiting"],
      [2, "dave", gone, "dead"],
    ]);
    assert((queue[0].waiting_sec as number) >= 12, "age of the ticket");
    assert(exists(`${root}/queue/build/000000000002.json`), "why removed no dead ticket");
  } finally {
    await stop(waiter);
  }
});

Deno.test("why: a real waiter shows in the queue of a held lock", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals((await lokt(["lock", "build"], { env: as(root, "alice") })).code, 0);
  const waiter = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "lock", "build", "--wait", "--timeout", "60s"],
    env: as(root, "carol"),
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  waiter.status.then((s) => (exited = s));
  try {
    // Bounded generously: a loaded machine can take seconds to start a process.
    const end = Date.now() + 30_000;
    const queued = () => {
      try {
        return [...Deno.readDirSync(`${root}/queue/build`)].length > 0;
      } catch {
        return false;
      }
    };
    while (!queued()) {
      if (exited !== undefined) {
        const stderr = await new Response(waiter.stderr).text();
        throw new Error(`the waiter exited with ${exited.code}: ${stderr}`);
      }
      if (Date.now() > end) throw new Error("the waiter never queued");
      await new Promise((r) => setTimeout(r, 20));
    }
    const { text, out } = await why("build", as(root, "bob"));
    assertEquals(text.code, 2);
    assertEquals((out.reasons as Reason[]).map((r) => r.type), ["held", "queued"]);
    const [ticket] = out.queue as Reason[];
    assertEquals([ticket.owner, ticket.pid, ticket.state], ["carol", waiter.pid, "waiting"]);
    assertMatch(
      text.stdout,
      new RegExp(`1\\. carol@${HOST} \\(agent agent-carol, PID ${waiter.pid}\\)`),
    );
  } finally {
    await stop(waiter);
    await waiter.stderr.cancel().catch(() => {}); // already read when it failed
  }
});

Deno.test("why: shows the fence counter and the fence the next holder gets", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals((await lokt(["lock", "build"], { env: as(root, "alice") })).code, 0);
  assertEquals((await lokt(["unlock", "build"], { env: as(root, "alice") })).code, 0);
  assertEquals((await lokt(["lock", "build"], { env: as(root, "bob") })).code, 0);
  const { text, out } = await why("build", as(root, "carol"));
  assertMatch(text.stdout, /\n {4}Fence: {4}2\n/);
  assertMatch(text.stdout, /\n {2}Fence: 2 \(the next new holder gets 3\)\n/);
  assertEquals([out.fence, out.next_fence, (out.holder as Reason).fence], [2, 3, 2]);
  assertEquals((await lokt(["unlock", "build"], { env: as(root, "bob") })).code, 0);
  const free = await why("build", as(root, "carol"));
  assertEquals([free.text.code, free.out.outcome, free.out.fence, free.out.next_fence], [
    0,
    "free",
    2,
    3,
  ]);
});

/** Every entry under `root`: path, kind, size, mtime and content (files). */
function snapshot(root: string): string[] {
  const rows: string[] = [];
  const walk = (dir: string) => {
    for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${entry.name}`;
      const info = Deno.lstatSync(path);
      const head = `${path.slice(root.length)} ${
        info.isDirectory ? "dir" : "file"
      } ${info.size} ${info.mtime?.getTime()} ${info.mode}`;
      if (info.isDirectory) {
        rows.push(head);
        walk(path);
      } else {
        rows.push(`${head} ${Deno.readTextFileSync(path)}`);
      }
    }
  };
  walk(root);
  return rows;
}

Deno.test("why changes no file: every path, size, mtime and content under the root is the same, audit log included", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const now = Date.now();
  assertEquals((await lokt(["lock", "build", "--ttl", "5m"], { env: as(root, "alice") })).code, 0);
  assertEquals((await lokt(["freeze", "deploy", "--ttl", "5m"], { env: as(root, "ci") })).code, 0);
  plant(root, { name: "stale", acquiredMs: now - 60_000, ttlMs: 1_000, expiresMs: now - 59_000 });
  plant(root, { name: "thawed", kind: "freeze", ttlMs: 1_000, expiresMs: now - 1_000 });
  Deno.writeTextFileSync(`${root}/locks/junk.json`, "");
  const old = new Date(now - 60_000);
  Deno.utimeSync(`${root}/locks/junk.json`, old, old);
  plantTicket(root, "build", 1, { pid: await deadPid(), owner: "dave", sinceMs: now - 9_000 });
  plantTicket(root, "stale", 1, { pid: await deadPid(), owner: "erin", sinceMs: now - 9_000 });
  const before = snapshot(root);
  assert(
    before.some((row) => row.startsWith("/audit.log file")),
    "the audit log is in the snapshot",
  );

  const names = ["build", "deploy", "stale", "thawed", "junk", "nothing"];
  const runs = names.flatMap((name) => [
    lokt(["why", name], { env: as(root, "bob") }),
    lokt(["why", name, "--json"], { env: as(root, "alice") }),
  ]);
  const codes = (await Promise.all(runs)).map((r) => r.code);
  assertEquals(codes, [2, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(snapshot(root), before);
});

Deno.test("why creates no root: neither at LOKT_ROOT nor in a repository's git dir", async () => {
  using dir = tempDir();
  const missing = `${dir.path}/nowhere/root`;
  const r = await why("build", as(missing, "bob"));
  assertEquals([r.text.code, r.out.root_exists], [0, false]);
  assertMatch(r.text.stdout, /Root: {2}.*nowhere\/root does not exist yet/);
  assert(!exists(`${dir.path}/nowhere`));

  const repo = `${dir.path}/repo`;
  Deno.mkdirSync(`${repo}/.git`, { recursive: true });
  const env = as("unused", "bob");
  delete env.LOKT_ROOT;
  const inRepo = await why("build", env, repo);
  assertEquals([inRepo.text.code, inRepo.out.root], [0, `${repo}/.git/lokt`]);
  assertEquals([...Deno.readDirSync(`${repo}/.git`)].length, 0, "nothing created in .git");
  assertEquals([...Deno.readDirSync(repo)].map((e) => e.name), [".git"]);
});

Deno.test("why: usage errors exit 64", async () => {
  using dir = tempDir();
  const env = as(`${dir.path}/root`, "bob");
  const cases: [string[], RegExp][] = [
    [["why"], /missing NAME/],
    [["why", "../etc"], /invalid lock name/],
    [["why", "a", "b"], /unexpected argument "b"/],
    [["why", "build", "--jsn"], /unknown flag --jsn .*\n.*did you mean --json\?/],
  ];
  for (const [args, message] of cases) {
    const r = await lokt(args, { env });
    assertEquals(r.code, 64, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, message, args.join(" "));
  }
  assert(!exists(`${dir.path}/root`));
});
