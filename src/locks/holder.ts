/** Who may re-enter or release a plain lock. Pure. */

import type { LockRecord, PidSource } from "./lockfile.ts";

/** The caller of `lock` / `unlock`, as the ownership rules see it. */
export interface Claim {
  owner: string;
  host: string;
  /** Agent, session or process id; `""` when none could be derived. */
  agentId: string;
  /** The process a new plain lock should follow, if any. */
  process?: { pid: number; start?: string; source: PidSource };
  /** Pids of the caller's ancestors, nearest first. */
  ancestors: readonly number[];
  /** The caller's own pid. */
  pid: number;
}

/**
 * True when `claim` is the holder of the plain lock `lock`: same owner, host and agent id, and,
 * for a lock taken with `--pid P` while P lives, the caller is P or runs under P.
 */
export function holds(lock: LockRecord, claim: Claim, flaggedPidAlive: boolean): boolean {
  if (lock.kind !== "lock") return false;
  if (lock.owner !== claim.owner || lock.host !== claim.host || lock.agentId !== claim.agentId) {
    return false;
  }
  if (lock.pidSource !== "flag" || !flaggedPidAlive) return true;
  return claim.process?.source === "flag"
    ? claim.process.pid === lock.pid
    : claim.pid === lock.pid || claim.ancestors.includes(lock.pid);
}
