/**
 * The lock file format, version 1: encode and decode, pure. `docs/lock-file.md` documents it. The
 * first ten fields keep the original tool's names so that existing readers still work; readers
 * ignore fields they do not know.
 */

import { formatIso } from "../time.ts";

/** The only lock-file version this lokt writes and fully understands. */
export const LOCKFILE_VERSION = 1;

/** What created the record: a plain `lock`, a `guard` (or library holder), or a `freeze`. */
export type LockKind = "lock" | "guard" | "freeze";

/** How the liveness of a record is judged (see `docs/identity.md`). */
export type Liveness = "guard" | "process" | "ttl" | "manual";

/** A process named by a record: pid plus its start-time token. */
export interface ProcessRef {
  /** The process id. */
  pid: number;
  /** Its start-time token, which tells a recycled pid apart; undefined where unknown. */
  start?: string;
}

/** Where a plain lock's process came from. */
export type PidSource = "flag" | "anchor" | "self";

/** One lock (or freeze) as lokt works with it. Times are epoch milliseconds. */
export interface LockRecord {
  /** The lock (or freeze) name. */
  name: string;
  /** This hold's id (`lock_id`): a change of holder always changes it. */
  lockId: string;
  /** What created the record. */
  kind: LockKind;
  /** The holder's owner name (`LOKT_OWNER`, else the user name). */
  owner: string;
  /** The host the holder runs on. */
  host: string;
  /** The holder's agent id; `""` when the record names none. */
  agentId: string;
  /** The process the record follows, or 0 for none. */
  pid: number;
  /** Start-time token of {@link LockRecord.pid}, which tells a recycled pid apart. */
  pidStart?: string;
  /** Where {@link LockRecord.pid} came from. */
  pidSource?: PidSource;
  /** Boot id of the holder's machine. */
  bootId?: string;
  /** Pid namespace of the holder. */
  pidNs?: string;
  /** The guarded command's process (guard records only). */
  child?: ProcessRef;
  /** The guarded command (guard records only). */
  command?: string[];
  /** When the hold began. */
  acquiredMs: number;
  /** When it was last renewed or taken again. */
  renewedMs?: number;
  /** Requested lease; undefined means no TTL. */
  ttlMs?: number;
  /** When the TTL runs out; undefined without a TTL. */
  expiresMs?: number;
  /** Grows with every new acquisition of the name; kept by re-entry and renewal. */
  fence: number;
  /** Free text given to `freeze --reason`. */
  reason?: string;
  /** The MCP client the holder serves, as `name/version` from its `initialize` (`lokt mcp`). */
  client?: string;
  /**
   * The slot this hold occupies (1..{@link LockRecord.slots}), on a name taken with `--slots N`
   * for N of 2 or more; undefined on a plain lock (one slot, the name's own file).
   */
  slot?: number;
  /** How many holders the name admits (its N); undefined on a plain lock, which is N = 1. */
  slots?: number;
}

/** The result of reading a lock file's bytes. */
export type DecodedLock =
  | { kind: "ok"; lock: LockRecord }
  | { kind: "empty" }
  | { kind: "corrupt"; problem: string }
  | { kind: "unsupported"; version: number };

/** How a record's liveness is judged, derived from its kind, process and TTL. */
export function livenessOf(lock: LockRecord): Liveness {
  if (lock.kind === "guard") return "guard";
  if (lock.kind === "lock" && lock.pid > 0) return "process";
  return lock.ttlMs === undefined ? "manual" : "ttl";
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : formatIso(ms);
}

/** Serialises a record as the lock file's JSON text (pretty, one trailing newline). */
export function encodeLock(lock: LockRecord): string {
  const body = {
    version: LOCKFILE_VERSION,
    name: lock.name,
    lock_id: lock.lockId,
    owner: lock.owner,
    host: lock.host,
    pid: lock.pid,
    agent_id: lock.agentId,
    acquired_ts: iso(lock.acquiredMs),
    ttl_sec: lock.ttlMs === undefined ? 0 : Math.ceil(lock.ttlMs / 1000),
    expires_at: iso(lock.expiresMs),
    kind: lock.kind,
    liveness: livenessOf(lock),
    fence: lock.fence,
    ttl_ms: lock.ttlMs ?? null,
    renewed_ts: iso(lock.renewedMs),
    pid_start: lock.pidStart ?? null,
    pid_source: lock.pidSource ?? null,
    boot_id: lock.bootId ?? null,
    pid_ns: lock.pidNs ?? null,
    child_pid: lock.child?.pid ?? null,
    child_start: lock.child?.start ?? null,
    command: lock.command ?? null,
    reason: lock.reason ?? null,
    client: lock.client ?? null,
  };
  // A plain lock keeps the format it always had; a slot holder says which slot of how many.
  const slotted = lock.slots !== undefined && lock.slots > 1 && lock.slot !== undefined
    ? { slot: lock.slot, slots: lock.slots }
    : {};
  return JSON.stringify({ ...body, ...slotted }, null, 2) + "\n";
}

class Invalid extends Error {}

/** The largest distance from the epoch a `Date` (and so a timestamp field) can express. */
const MAX_TIME_MS = 8.64e15;

type Json = Record<string, unknown>;

function str(obj: Json, key: string, required = false): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new Invalid(`missing field "${key}"`);
    return undefined;
  }
  if (typeof v !== "string") throw new Invalid(`field "${key}" must be a string`);
  return v;
}

function int(obj: Json, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new Invalid(`field "${key}" must be a non-negative integer`);
  }
  return v;
}

function time(obj: Json, key: string, required = false): number | undefined {
  const text = str(obj, key, required);
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Invalid(`field "${key}" is not a timestamp: ${text}`);
  return ms;
}

const KINDS: readonly string[] = ["lock", "guard", "freeze"];
const PID_SOURCES: readonly string[] = ["flag", "anchor", "self"];

function decodeFields(obj: Json): LockRecord {
  const kind = str(obj, "kind") ?? "lock";
  if (!KINDS.includes(kind)) throw new Invalid(`unknown kind "${kind}"`);
  const pidSource = str(obj, "pid_source");
  if (pidSource !== undefined && !PID_SOURCES.includes(pidSource)) {
    throw new Invalid(`unknown pid_source "${pidSource}"`);
  }
  const acquiredMs = time(obj, "acquired_ts", true)!;
  const ttlMsField = int(obj, "ttl_ms");
  const ttlSec = int(obj, "ttl_sec");
  const ttlMs = ttlMsField ?? (ttlSec ? ttlSec * 1000 : undefined);
  if (ttlMs !== undefined && !Number.isSafeInteger(ttlMs)) {
    throw new Invalid(`field "ttl_sec" is too large`);
  }
  const expiresMs = time(obj, "expires_at") ??
    (ttlMs === undefined ? undefined : acquiredMs + ttlMs);
  // A record lokt accepts must be one it can write back and read again unchanged.
  if (expiresMs !== undefined && Math.abs(expiresMs) > MAX_TIME_MS) {
    throw new Invalid(`the TTL puts the expiry beyond the last representable time`);
  }
  const command = obj.command;
  if (
    command !== undefined && command !== null &&
    !(Array.isArray(command) && command.every((c) => typeof c === "string"))
  ) {
    throw new Invalid(`field "command" must be a list of strings`);
  }
  const childPid = int(obj, "child_pid");
  const slot = int(obj, "slot");
  const slots = int(obj, "slots");
  if (slots !== undefined && slots > 1 && (slot === undefined || slot < 1 || slot > slots)) {
    throw new Invalid(`field "slot" must be between 1 and "slots" (${slots})`);
  }
  return {
    name: str(obj, "name", true)!,
    lockId: str(obj, "lock_id") ?? "",
    kind: kind as LockKind,
    owner: str(obj, "owner", true)!,
    host: str(obj, "host", true)!,
    agentId: str(obj, "agent_id") ?? "",
    pid: int(obj, "pid") ?? 0,
    pidStart: str(obj, "pid_start"),
    pidSource: pidSource as PidSource | undefined,
    bootId: str(obj, "boot_id"),
    pidNs: str(obj, "pid_ns"),
    child: childPid ? { pid: childPid, start: str(obj, "child_start") } : undefined,
    command: (command ?? undefined) as string[] | undefined,
    acquiredMs,
    renewedMs: time(obj, "renewed_ts"),
    ttlMs,
    expiresMs,
    fence: int(obj, "fence") ?? 0,
    reason: str(obj, "reason"),
    client: str(obj, "client"),
    ...(slots !== undefined && slots > 1 ? { slot, slots } : {}),
  };
}

/** Parses a lock file's bytes. Never throws: every failure is a tagged result. */
export function decodeLock(text: string): DecodedLock {
  if (text.trim().length === 0) return { kind: "empty" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { kind: "corrupt", problem: `not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { kind: "corrupt", problem: "not a JSON object" };
  }
  const obj = parsed as Json;
  const version = obj.version ?? 0;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) {
    return { kind: "corrupt", problem: `field "version" must be a non-negative integer` };
  }
  if (version > LOCKFILE_VERSION) return { kind: "unsupported", version };
  try {
    return { kind: "ok", lock: decodeFields(obj) };
  } catch (error) {
    if (error instanceof Invalid) return { kind: "corrupt", problem: error.message };
    throw error;
  }
}
