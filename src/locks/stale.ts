/**
 * The liveness rules: is a lock record still held, or stale? Pure, given the clock and a process
 * probe. `docs/identity.md` has the same rules as one precedence table.
 */

import type { MachineFacts, ProcessState } from "../identity/process.ts";
import type { LockRecord, ProcessRef } from "./lockfile.ts";

/** Whether this machine can judge the record's processes. */
export type Scope =
  /** Same host, same boot, same pid namespace: processes are evidence. */
  | "local"
  /** Same host, another boot: every process the record names is gone. */
  | "rebooted"
  /** Another host or pid namespace: only the TTL can decide. */
  | "remote";

/** Why a record is live. */
export type LiveReason =
  | "guard-alive"
  | "command-alive"
  | "descendant-alive"
  | "process-alive"
  | "ttl-running"
  | "no-expiry";

/** Why a record is stale. */
export type StaleReason = "expired" | "dead" | "rebooted";

/** Facts shared by both verdicts, for display. */
export interface VerdictFacts {
  /** Whether this machine can judge the record's processes. */
  scope: Scope;
  /** The TTL has run out (a live guard may be overdue: it does not decide). */
  expired: boolean;
  /** State of the record's main process, or "none" when it names none. */
  pidState: ProcessState | "none";
  /** State of the guarded command's process, or "none". */
  childState: ProcessState | "none";
  /** A process carrying the lock's id in its environment, when that decided. */
  carrierPid?: number;
}

/** The judgement of one record. */
export type Verdict =
  | ({ kind: "live"; reason: LiveReason } & VerdictFacts)
  | ({ kind: "stale"; reason: StaleReason } & VerdictFacts);

/** Everything the judgement reads besides the record. */
export interface JudgeContext {
  nowMs: number;
  machine: MachineFacts;
  /** State of a recorded process on this machine. */
  processState(ref: ProcessRef): ProcessState;
  /**
   * A live process whose environment carries `LOKT_LOCK_ID=<lockId>`: its pid, null when there is
   * none, undefined when the platform cannot tell. Asked only as a last resort.
   */
  carrier(lockId: string): number | null | undefined;
}

/** Where a record (or ticket) was written: the machine facts it carries. */
export interface Origin {
  host: string;
  bootId?: string;
  pidNs?: string;
}

/**
 * Can two boot ids be compared? Only ids of one kind: macOS boots used to be recorded as the
 * boot time in seconds (which moves when the clock is stepped) and are now a UUID, so a record
 * written before that change tells nothing about the boot rather than "another boot".
 */
function comparableBoots(a: string, b: string): boolean {
  return /^\d+$/.test(a) === /^\d+$/.test(b);
}

/** Whether processes recorded at `origin` can be judged on this machine. */
export function scopeOf(origin: Origin, machine: MachineFacts): Scope {
  if (origin.host !== machine.host) return "remote";
  if (
    origin.bootId && machine.bootId && origin.bootId !== machine.bootId &&
    comparableBoots(origin.bootId, machine.bootId)
  ) return "rebooted";
  if (origin.pidNs && machine.pidNs && origin.pidNs !== machine.pidNs) return "remote";
  return "local";
}

/** True when the record's TTL has run out at `nowMs`. */
export function isExpired(lock: LockRecord, nowMs: number): boolean {
  return lock.expiresMs !== undefined && nowMs > lock.expiresMs;
}

function byTtl(facts: VerdictFacts, lock: LockRecord): Verdict {
  if (facts.expired) return { kind: "stale", reason: "expired", ...facts };
  return {
    kind: "live",
    reason: lock.expiresMs === undefined ? "no-expiry" : "ttl-running",
    ...facts,
  };
}

function judgeGuard(lock: LockRecord, ctx: JudgeContext, facts: VerdictFacts): Verdict {
  if (facts.scope === "rebooted") return { kind: "stale", reason: "rebooted", ...facts };
  if (facts.scope === "remote") return byTtl(facts, lock);
  if (facts.pidState === "alive") return { kind: "live", reason: "guard-alive", ...facts };
  if (facts.childState === "alive") return { kind: "live", reason: "command-alive", ...facts };
  if (facts.pidState === "unknown" || facts.childState === "unknown") return byTtl(facts, lock);
  // Both named processes are gone. A descendant of the command may still run (a command that
  // forked and exited, or one spawned before its pid could be recorded).
  const carrier = lock.lockId ? ctx.carrier(lock.lockId) : null;
  if (typeof carrier === "number") {
    return { kind: "live", reason: "descendant-alive", ...facts, carrierPid: carrier };
  }
  return { kind: "stale", reason: "dead", ...facts };
}

function judgePlain(lock: LockRecord, facts: VerdictFacts): Verdict {
  if (facts.expired) return { kind: "stale", reason: "expired", ...facts };
  if (lock.pid > 0 && facts.scope === "rebooted") {
    return { kind: "stale", reason: "rebooted", ...facts };
  }
  if (facts.pidState === "dead") return { kind: "stale", reason: "dead", ...facts };
  if (facts.pidState === "alive") return { kind: "live", reason: "process-alive", ...facts };
  return byTtl(facts, lock);
}

/**
 * Judges a record. Guards live while the guard or its command lives, whatever the TTL says;
 * plain locks end at their TTL or their process's death, whichever comes first; freezes follow
 * their TTL. Records from another host or pid namespace are judged by their TTL alone.
 */
export function judge(lock: LockRecord, ctx: JudgeContext): Verdict {
  const scope = scopeOf(lock, ctx.machine);
  const local = scope === "local";
  const state = (ref: ProcessRef | undefined): ProcessState | "none" => {
    if (ref === undefined || ref.pid <= 0) return "none";
    if (scope === "rebooted") return "dead";
    return local ? ctx.processState(ref) : "unknown";
  };
  const facts: VerdictFacts = {
    scope,
    expired: isExpired(lock, ctx.nowMs),
    pidState: lock.kind === "freeze" ? "none" : state({ pid: lock.pid, start: lock.pidStart }),
    childState: lock.kind === "guard" ? state(lock.child) : "none",
  };
  switch (lock.kind) {
    case "guard":
      return judgeGuard(lock, ctx, facts);
    case "lock":
      return judgePlain(lock, facts);
    case "freeze":
      return byTtl(facts, lock);
  }
}
