/**
 * Fuzz: the lock-file reader turns any bytes into a typed result (ok, empty, corrupt,
 * unsupported) and never throws; a record it accepts can be written back and read again
 * unchanged, and rendered.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import {
  decodeLock,
  encodeLock,
  LOCKFILE_VERSION,
  type LockRecord,
} from "../../src/locks/lockfile.ts";
import { readRecord } from "../../src/locks/store.ts";
import { describeBlocker, describeHolder } from "../../src/locks/describe.ts";
import { judge } from "../../src/locks/stale.ts";
import { expiryText, recordJson } from "../../src/cli/render.ts";
import { tempDir } from "../helpers/cli.ts";
import { fuzz, NASTY_CHARS, type Rng } from "./prng.ts";

const FILE = "tests/fuzz/lockfile_test.ts";
const NOW = Date.UTC(2026, 10, 22, 5, 0, 0);

const FIELDS = [
  "version",
  "name",
  "lock_id",
  "owner",
  "host",
  "pid",
  "agent_id",
  "acquired_ts",
  "ttl_sec",
  "expires_at",
  "kind",
  "liveness",
  "fence",
  "ttl_ms",
  "renewed_ts",
  "pid_start",
  "pid_source",
  "boot_id",
  "pid_ns",
  "child_pid",
  "child_start",
  "command",
  "reason",
];

function text(rng: Rng): string {
  return rng.string([..."abcXYZ019-_.@: ", ...NASTY_CHARS], 24);
}

function time(rng: Rng): number {
  return rng.pick([NOW, NOW - rng.int(86_400_000), NOW + rng.int(86_400_000), 0, 1]);
}

/** A record lokt itself could have written. */
function validRecord(rng: Rng): LockRecord {
  const kind = rng.pick(["lock", "guard", "freeze"] as const);
  const acquiredMs = time(rng);
  const ttlMs = rng.chance(0.5) ? rng.range(1, 100 * 86_400_000) : undefined;
  const pid = kind === "freeze" || rng.chance(0.3) ? 0 : rng.range(1, 4_194_304);
  return {
    name: rng.string("abc-_.019", 12) || "n",
    lockId: rng.string("0123456789abcdef", 32),
    kind,
    owner: text(rng),
    host: text(rng),
    agentId: text(rng),
    pid,
    pidStart: pid > 0 && rng.chance(0.7) ? String(rng.u32()) : undefined,
    pidSource: kind === "lock" && pid > 0
      ? rng.pick(["flag", "anchor", "self"] as const)
      : undefined,
    bootId: rng.chance(0.5) ? text(rng) : undefined,
    pidNs: rng.chance(0.5) ? String(rng.u32()) : undefined,
    child: kind === "guard" && rng.chance(0.7)
      ? { pid: rng.range(1, 4_194_304), start: rng.chance(0.5) ? String(rng.u32()) : undefined }
      : undefined,
    command: kind === "guard" ? [text(rng), text(rng)] : undefined,
    acquiredMs,
    renewedMs: rng.chance(0.3) ? acquiredMs + rng.int(60_000) : undefined,
    ttlMs,
    expiresMs: ttlMs === undefined ? undefined : acquiredMs + ttlMs,
    fence: rng.range(0, 2 ** 31),
    reason: kind === "freeze" && rng.chance(0.5) ? text(rng) : undefined,
    client: kind === "guard" && rng.chance(0.4) ? text(rng) : undefined,
    ...(kind !== "freeze" && rng.chance(0.3) ? slotted(rng) : {}),
  };
}

/** A slot of a name with N of 2 or more (a plain lock has neither field). */
function slotted(rng: Rng): { slot: number; slots: number } {
  const slots = rng.range(2, 256);
  return { slot: rng.range(1, slots), slots };
}

const TIMES = [
  "",
  "2026-11-22T05:00:00Z",
  "2026-11-22",
  "0",
  "-1",
  "+275760-09-13T00:00:00.000Z",
  "+275760-09-13T00:00:00.001Z",
  "-271821-04-20T00:00:00.000Z",
  "-000001-01-01T00:00:00.000Z",
  "0000-01-01T00:00:00.000Z",
  "9999-12-31T23:59:59.999Z",
  "+010000-01-01T00:00:00.000Z",
  "1970-01-01T00:00:00.000Z",
  "Tue, 22 Nov 2026 05:00:00 GMT",
  "2026-02-30T00:00:00Z",
  "now",
];
const WORDS = ["lock", "guard", "freeze", "flag", "anchor", "self", "1"];
const TIME_FIELDS = ["acquired_ts", "expires_at", "renewed_ts"];
const NUMBER_FIELDS = ["pid", "ttl_sec", "fence", "ttl_ms", "child_pid", "version"];

/** A value of the right JSON type for `field`, but odd: huge, negative, fractional, far away. */
function nearMiss(rng: Rng, field: string): unknown {
  if (TIME_FIELDS.includes(field)) return rng.pick(TIMES);
  if (NUMBER_FIELDS.includes(field)) {
    return rng.pick([0, -1, 1.5, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 1e21, 8.64e15, 3e12, 1e15]);
  }
  return rng.chance(0.5) ? rng.pick(WORDS) : text(rng);
}

/** A JSON value of any type, including the awkward ones. */
function junk(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 7 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([
        0,
        -0,
        -1,
        1.5,
        2 ** 31,
        2 ** 53 - 1,
        2 ** 53,
        2 ** 53 + 2,
        1e21,
        1e300,
        -1e300,
        Number.MAX_VALUE,
        Number.MIN_VALUE,
        8.64e15,
        8.64e15 + 1,
      ]);
    case 3:
      return rng.int(1_000_000);
    case 4:
      return text(rng);
    case 5:
      return rng.pick([...TIMES, ...WORDS]);
    case 6:
      return "x".repeat(rng.chance(0.9) ? 1_000 : 100_000);
    case 7:
      return Array.from({ length: rng.int(4) }, () => junk(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [rng.pick(FIELDS), junk(rng, depth + 1)]),
      );
  }
}

function mutateJson(rng: Rng, body: Record<string, unknown>): Record<string, unknown> {
  const out = { ...body };
  for (let edits = rng.range(1, 3); edits > 0; edits--) {
    const field = rng.chance(0.9) ? rng.pick(FIELDS) : text(rng);
    switch (rng.int(5)) {
      case 0:
        delete out[field];
        break;
      case 1:
        out.version = rng.pick([0, 1, 2, 3, -1, 1.5, "1", null, 1e21, 2 ** 53]);
        break;
      case 2:
        out[field] = junk(rng);
        break;
      default: {
        const known = rng.pick(FIELDS);
        out[known] = nearMiss(rng, known);
      }
    }
  }
  return out;
}

function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  for (let edits = rng.range(1, 4); edits > 0; edits--) {
    const at = rng.int(out.length + 1);
    switch (rng.int(3)) {
      case 0:
        out.splice(at, 1);
        break;
      case 1:
        out.splice(at, 0, rng.int(256));
        break;
      default:
        out[at] = out[at] ^ (1 << rng.int(8));
    }
  }
  return Uint8Array.from(out);
}

const encoder = new TextEncoder();

/** Bytes of a lock file: random, truncated, mutated, retyped, nested junk, or valid. */
function lockFileBytes(rng: Rng): Uint8Array {
  const valid = encodeLock(validRecord(rng));
  switch (rng.int(7)) {
    case 0:
      return rng.bytes(rng.length(300));
    case 1:
      return encoder.encode(valid.slice(0, rng.int(valid.length + 1)));
    case 2:
      return mutateBytes(rng, encoder.encode(valid));
    case 3:
    case 4:
      return encoder.encode(JSON.stringify(mutateJson(rng, JSON.parse(valid))));
    case 5: {
      const depth = rng.chance(0.9) ? rng.pick([10, 1_000]) : 20_000;
      const open = rng.chance(0.5) ? "[" : '{"a":';
      const close = open === "[" ? "]" : "}";
      return encoder.encode(
        rng.pick([`${open.repeat(depth)}${close.repeat(depth)}`, JSON.stringify(junk(rng))]),
      );
    }
    default:
      return encoder.encode(valid);
  }
}

/** What must hold of any accepted record: lokt can judge it, print it, and write it back. */
function checkAccepted(lock: LockRecord): void {
  for (const ms of [lock.acquiredMs, lock.expiresMs, lock.renewedMs, lock.ttlMs]) {
    assert(ms === undefined || Number.isFinite(ms), `non-finite time ${ms}`);
  }
  assert(Number.isSafeInteger(lock.fence) && lock.fence >= 0, `fence ${lock.fence}`);
  assert(Number.isSafeInteger(lock.pid) && lock.pid >= 0, `pid ${lock.pid}`);
  const again = decodeLock(encodeLock(lock));
  assertEquals(again, { kind: "ok", lock }, "written back and read again");
  const verdict = judge(lock, {
    nowMs: NOW,
    machine: { host: lock.host, bootId: undefined, pidNs: undefined },
    processState: () => "unknown",
    carrier: () => undefined,
  });
  JSON.stringify(recordJson(lock, verdict, NOW));
  describeHolder(lock);
  describeBlocker(lock.name, { kind: "lock", lock, verdict }, NOW);
  expiryText(lock, NOW);
}

function checkDecoded(result: ReturnType<typeof decodeLock>): void {
  switch (result.kind) {
    case "ok":
      checkAccepted(result.lock);
      break;
    case "empty":
      break;
    case "corrupt":
      assert(typeof result.problem === "string" && result.problem.length > 0, "no problem");
      break;
    case "unsupported":
      assert(
        Number.isInteger(result.version) && result.version > LOCKFILE_VERSION,
        `unsupported version ${result.version}`,
      );
      break;
    default:
      throw new Error(`unknown kind ${JSON.stringify(result)}`);
  }
}

Deno.test("fuzz: any lock-file bytes decode to a typed result, and accepted records round-trip", async () => {
  const decoder = new TextDecoder();
  const kinds: Record<string, number> = {};
  const report = await fuzz("lockfile/decode", lockFileBytes, (bytes) => {
    const result = decodeLock(decoder.decode(bytes));
    kinds[result.kind] = (kinds[result.kind] ?? 0) + 1;
    checkDecoded(result);
  }, { file: FILE });
  console.log(`lockfile/decode results: ${JSON.stringify(kinds)}`);
  if (report.cases >= 1000) {
    for (const kind of ["ok", "empty", "corrupt", "unsupported"]) {
      assert((kinds[kind] ?? 0) > 0, `the generator never produced a ${kind} file`);
    }
  }
});

Deno.test("fuzz: valid records survive encode and decode unchanged", async () => {
  await fuzz("lockfile/round-trip", validRecord, (lock) => {
    assertEquals(decodeLock(encodeLock(lock)), { kind: "ok", lock });
  }, { file: FILE });
});

Deno.test("fuzz: reading a real lock file never throws, whatever it holds", async () => {
  using dir = tempDir("lokt-fuzz-");
  const path = `${dir.path}/x.json`;
  await fuzz("lockfile/read", lockFileBytes, (bytes) => {
    Deno.writeFileSync(path, bytes);
    const state = readRecord(path, NOW);
    switch (state.kind) {
      case "ok":
        checkAccepted(state.lock);
        break;
      case "empty":
      case "corrupt":
        assert(state.problem.length > 0 && state.ageMs >= 0, JSON.stringify(state));
        break;
      case "unsupported":
        assert(state.version > LOCKFILE_VERSION);
        break;
      case "absent":
        throw new Error("a written file read as absent");
    }
  }, { file: FILE, share: 0.2 });
});
