/**
 * The checker must see what it is there to see: each test plants one state the protocol does
 * not allow and requires the checker to name it (and a clean root to pass).
 */

import { encodeEvent } from "../../src/audit/event.ts";
import { encodeLock, type LockRecord } from "../../src/locks/lockfile.ts";
import { tempDir } from "../helpers/cli.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  type Allowed,
  checkAfterKill,
  checkAfterRecovery,
  mustBeStale,
  parseRecordFile,
  readRoot,
} from "./invariants.ts";

const VICTIM_PID = 4242;

function record(fields: Partial<LockRecord> = {}): LockRecord {
  return {
    name: "job",
    lockId: "0123456789abcdef0123456789abcdef",
    kind: "lock",
    owner: "tester",
    host: "here",
    agentId: "victim",
    pid: 0,
    acquiredMs: Date.UTC(2026, 0, 1),
    fence: 3,
    ...fields,
  };
}

function line(event: string, lockId = "", pid = VICTIM_PID): string {
  return encodeEvent({
    ts: Date.UTC(2026, 0, 1),
    event: event as "acquire",
    name: "job",
    lockId,
    actor: { owner: "tester", host: "here", pid, agentId: "victim" },
    fence: 3,
  });
}

function root(path: string) {
  for (const dir of ["locks", "freezes", "fences", "queue", "tmp"]) {
    Deno.mkdirSync(`${path}/${dir}`);
  }
  return {
    lock: (text: string) => Deno.writeTextFileSync(`${path}/locks/job.json`, text),
    fence: (n: number) =>
      Deno.writeTextFileSync(`${path}/fences/job`, `${String(n).padStart(20, "0")}\n`),
    floor: (n: number) =>
      Deno.writeTextFileSync(`${path}/fences/.floor`, `${String(n).padStart(20, "0")}\n`),
    audit: (text: string, file = "audit.log") =>
      Deno.writeTextFileSync(`${path}/${file}`, text, { append: true }),
  };
}

const CREATE: Allowed = { name: "job", agent: "victim", lock: { create: true }, freeze: {} };

Deno.test("a complete v1 record passes; empty, cut or foreign files do not", () => {
  const text = encodeLock(record());
  assert(typeof parseRecordFile(text, "locks", "job") !== "string");
  const bad: [string, string][] = [
    ["", "empty"],
    [text.slice(0, text.length / 2), "cut in half"],
    [text.replace('"version": 1', '"version": 2'), "another version"],
    [text.replace('"name": "job"', '"name": "other"'), "another name"],
    [text.replace(/"lock_id": "[0-9a-f]+"/, '"lock_id": "x"'), "a bad lock id"],
    [text.replace('"fence": 3', '"fence": 0'), "fence 0 on a lock"],
  ];
  for (const [body, what] of bad) {
    assertEquals(typeof parseRecordFile(body, "locks", "job"), "string", what);
  }
  assertEquals(typeof parseRecordFile(text, "freezes", "job"), "string", "a lock under freezes/");
});

Deno.test("a half-written lock file and a partial audit line are reported", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.lock(encodeLock(record()).slice(0, 40));
  r.audit(line("acquire") + '{"ts":"2026');
  const problems = readRoot(dir.path).problems;
  assertEquals(problems.length, 3, problems.join("\n"));
});

Deno.test("a new record must carry a fence above every fence before it, written to the counter first", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.fence(3);
  const before = readRoot(dir.path);
  r.lock(encodeLock(record({ fence: 3 })));
  const reused = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(reused.some((p) => p.includes("reuses fence 3")), reused.join("\n"));
  r.lock(encodeLock(record({ fence: 5 })));
  const ahead = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(ahead.some((p) => p.includes("below the lock's fence")), ahead.join("\n"));
  r.fence(5);
  assertEquals(checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]), []);
});

Deno.test("a reclaimed name's fences continue above the floor, and the floor never goes down", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.floor(5); // the name's counter was folded into the floor and its file removed
  const before = readRoot(dir.path);
  r.fence(5);
  r.lock(encodeLock(record({ fence: 5 })));
  const reused = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(reused.some((p) => p.includes("reuses fence 5")), reused.join("\n"));
  r.fence(6);
  r.lock(encodeLock(record({ fence: 6 })));
  assertEquals(checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]), []);
  r.floor(4);
  const lowered = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(lowered.includes("the fence floor went down"), lowered.join("\n"));
  Deno.removeSync(`${dir.path}/fences/job`);
  const dropped = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(dropped.includes("the fence counter went down"), dropped.join("\n"));
});

Deno.test("after recovery, a name left unreclaimed or a fence bound that did not grow is reported", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.fence(3);
  const before = readRoot(dir.path);
  r.fence(4); // recovery locked and unlocked, but the counter was not folded and removed
  const kept = checkAfterRecovery(before, readRoot(dir.path), "job");
  assertEquals(kept, ["the released name was not reclaimed: its fence file is left"]);
  Deno.removeSync(`${dir.path}/fences/job`);
  r.floor(3);
  const stuck = checkAfterRecovery(before, readRoot(dir.path), "job");
  assertEquals(stuck, ["the fence bound (3) did not grow past 3"]);
  r.floor(4);
  assertEquals(checkAfterRecovery(before, readRoot(dir.path), "job"), []);
});

Deno.test("changes a command may not make are reported", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.fence(3);
  r.lock(encodeLock(record({ agentId: "holder" })));
  const before = readRoot(dir.path);
  r.lock(encodeLock(record({ agentId: "holder", renewedMs: Date.now() })));
  const rewritten = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(rewritten.some((p) => p.includes("was rewritten")), rewritten.join("\n"));
  Deno.removeSync(`${dir.path}/locks/job.json`);
  const removed = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(removed.some((p) => p.includes("was removed")), removed.join("\n"));
});

Deno.test("audit lines lost, doubled, or claiming what the files deny are reported", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.audit(line("deny", "", 1));
  const before = readRoot(dir.path);
  Deno.writeTextFileSync(`${dir.path}/audit.log`, "");
  const lost = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(lost.some((p) => p.includes("was lost")), lost.join("\n"));

  r.audit(line("deny", "", 1) + line("deny", "", 1));
  const doubled = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(doubled.some((p) => p.includes("appears 2 times")), doubled.join("\n"));

  Deno.writeTextFileSync(`${dir.path}/audit.log`, line("deny", "", 1));
  r.audit(line("acquire", "0123456789abcdef0123456789abcdef"));
  const claim = checkAfterKill(before, readRoot(dir.path), CREATE, [VICTIM_PID]);
  assert(claim.some((p) => p.includes("does not hold it")), claim.join("\n"));
  const stranger = checkAfterKill(before, readRoot(dir.path), CREATE, [1]);
  assert(stranger.some((p) => p.includes("another process")), stranger.join("\n"));
});

Deno.test("after recovery, one audit file under two names is reported", () => {
  using dir = tempDir();
  const r = root(dir.path);
  r.audit(line("deny", "", 1), "audit.log.1");
  const before = readRoot(dir.path);
  r.floor(1); // the recovery's lock and unlock
  assertEquals(checkAfterRecovery(before, readRoot(dir.path), "job"), []);
  Deno.linkSync(`${dir.path}/audit.log.1`, `${dir.path}/audit.log.2`);
  const problems = checkAfterRecovery(before, readRoot(dir.path), "job");
  assert(problems.some((p) => p.includes("are the same file")), problems.join("\n"));
});

Deno.test("after recovery, a dead waiter's ticket is reported; an unwritten one holds no turn", () => {
  using dir = tempDir();
  const r = root(dir.path);
  const before = readRoot(dir.path);
  r.fence(1); // the recovery's lock and unlock: kept while a ticket is queued
  Deno.mkdirSync(`${dir.path}/queue/job`);
  Deno.writeTextFileSync(`${dir.path}/queue/job/000000000001.json`, ""); // killed before writing
  assertEquals(checkAfterRecovery(before, readRoot(dir.path), "job"), []);
  const dead = JSON.stringify({ pid: 2 ** 22 + 7, owner: "tester" }); // above any pid_max
  Deno.writeTextFileSync(`${dir.path}/queue/job/000000000002.json`, dead);
  const problems = checkAfterRecovery(before, readRoot(dir.path), "job");
  assertEquals(problems, ["a dead waiter's ticket is left: 000000000002.json"]);
});

Deno.test("a record is stale for certain once its TTL ran out or its process is gone", () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const parse = (fields: Partial<LockRecord>) => {
    const parsed = parseRecordFile(encodeLock(record(fields)), "locks", "job");
    if (typeof parsed === "string") throw new Error(parsed);
    return parsed;
  };
  assertEquals(mustBeStale(parse({ ttlMs: 1000, expiresMs: now - 1 }), now), true);
  assertEquals(mustBeStale(parse({}), now), false, "no TTL, no process: only --force");
  assertEquals(mustBeStale(parse({ pid: Deno.pid }), now), undefined, "a live process");
  assertEquals(mustBeStale(parse({ pid: Deno.pid, pidStart: "1" }), now), true, "pid reused");
  assertEquals(
    mustBeStale(parse({ kind: "guard", pid: Deno.pid, ttlMs: 1000, expiresMs: now - 1 }), now),
    undefined,
    "a guard whose process runs is live past its TTL",
  );
});
