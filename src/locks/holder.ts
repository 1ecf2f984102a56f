/** Who may re-enter or release a plain lock. Pure. */

import type { LockRecord, PidSource } from "./lockfile.ts";

/** The caller of `lock` / `unlock`, as the ownership rules see it. */
export interface Claim {
  owner: string;
  host: string;
  /** Agent, session or process id (never empty from lokt; an empty one matches nothing). */
  agentId: string;
  /** The process a new plain lock should follow, if any. */
  process?: { pid: number; start?: string; source: PidSource };
  /** Pids of the caller's ancestors, nearest first. */
  ancestors: readonly number[];
  /** The caller's own pid. */
  pid: number;
}

/**
 * True when the lock and the claim name the same owner, host and agent. An empty agent id (a
 * lock written by an older lokt, or by hand) is an unknown identity: it names nobody, so two
 * of them never match.
 */
export function sameHolder(
  lock: Pick<LockRecord, "owner" | "host" | "agentId">,
  claim: Pick<Claim, "owner" | "host" | "agentId">,
): boolean {
  if (lock.agentId === "" || claim.agentId === "") return false;
  return lock.owner === claim.owner && lock.host === claim.host && lock.agentId === claim.agentId;
}

/**
 * True when `claim` is the holder of the plain lock `lock`: the same holder (above), and,
 * for a lock taken with `--pid P` while P lives, the caller is P or runs under P.
 */
export function holds(lock: LockRecord, claim: Claim, flaggedPidAlive: boolean): boolean {
  if (lock.kind !== "lock") return false;
  if (!sameHolder(lock, claim)) return false;
  if (lock.pidSource !== "flag" || !flaggedPidAlive) return true;
  return claim.process?.source === "flag"
    ? claim.process.pid === lock.pid
    : claim.pid === lock.pid || claim.ancestors.includes(lock.pid);
}
