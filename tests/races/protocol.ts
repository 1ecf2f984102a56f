/**
 * What the race coordinator and its worker processes say to each other. Commands go to a
 * worker's stdin as text lines; reports come back on its stdout as JSON lines.
 */

import type { Sabotage } from "../../src/testing/sabotage.ts";

/** Configuration of a `race` or `unsafe-race` worker: one attempt per round on one name. */
export interface RaceConfig {
  root: string;
  name: string;
  agent: string;
  /** File the coordinator holds an exclusive flock on between rounds: the barrier. */
  gate: string;
  /**
   * `unsafe-race` only: the longest random busy stall, in milliseconds, between deciding that
   * the record is stale and deleting it (0: none).
   */
  unsafeDelayMs?: number;
}

/** Configuration of a `storm` worker: acquire, hold, release in a loop until told to stop. */
export interface StormConfig {
  root: string;
  names: string[];
  agent: string;
  /** Directory of the witness files, one per name, proving who is inside the critical section. */
  witnessDir: string;
  /** Longest hold inside the critical section, milliseconds. */
  holdMaxMs: number;
  /** Share of attempts that use the waiting variant. */
  waitShare: number;
  /** Longest wait of the waiting variant, milliseconds. */
  waitMaxMs: number;
  /** Share of holds that renew once before release. */
  renewShare: number;
  /** Share of non-waiting attempts that record a deny event when blocked. */
  denyShare: number;
  /** Audit log rotation, or undefined to use the defaults. */
  audit?: { maxBytes: number; keep: number };
  /** JSON-lines file where the worker records every change it made, or undefined for none. */
  journal?: string;
  /**
   * Negative control: acquire with the original tool's unsafe takeover (read, decide, delete,
   * create) instead of the engine, stalling up to this many milliseconds between decide and
   * delete. Undefined: use the engine.
   */
  unsafeStallMs?: number;
  /** Share of loop turns that first sweep the root for unused names (`reclaimUnused`). */
  sweepShare?: number;
  /**
   * Negative control: steps of the reclaim protocol this worker leaves out (see
   * `src/testing/sabotage.ts`). Undefined: none.
   */
  sabotage?: Sabotage[];
}

/** Commands a coordinator sends, one per line. */
export type Command =
  | `arm ${number}`
  | `release ${string}`
  | "go"
  | "die-holding"
  | "stop"
  | "exit";

/** The worker started and waits for commands. */
export interface ReadyReport {
  type: "ready";
  pid: number;
}

/** A race worker is about to block on the barrier. */
export interface ArmedReport {
  type: "armed";
  round: number;
}

/** The outcome of one race attempt. */
export interface ResultReport {
  type: "result";
  round: number;
  won: boolean;
  /** `acquired`, `held`, ... (the engine's outcome kind) or `won` / `lost` / `error`. */
  outcome: string;
  lockId?: string;
  fence?: number;
  /** Lock id of the stale record the winner replaced. */
  replaced?: string;
  /** When the worker passed the barrier: epoch milliseconds, sub-millisecond precision. */
  passedAt: number;
  error?: string;
}

/** What a release by lock id found. */
export interface ReleasedReport {
  type: "released";
  lockId: string;
  outcome: string;
}

/** Counters of a storm worker since its previous report. */
export interface StormStats {
  attempts: number;
  acquired: number;
  /** Acquisitions that replaced a stale record. */
  takeovers: number;
  /** Witness files left by a dead holder that this worker found and cleared. */
  deadWitnesses: number;
  renewed: number;
  waitTimeouts: number;
  /** Fence files this worker removed (reclaims of unused names, by release or sweep). */
  reclaims: number;
  /** Sweeps of the root for unused names. */
  sweeps: number;
  /** Fences of this worker's acquisitions, by name. */
  fences: Record<string, number[]>;
}

/** Periodic counters of a storm worker. */
export interface StatsReport {
  type: "stats";
  stats: StormStats;
}

/** Two holders were seen inside one critical section, or a hold was lost while alive. */
export interface OverlapReport {
  type: "overlap";
  name: string;
  /**
   * `inside`: the witness named another live holder on entry; `replaced`: the own witness was
   * replaced while holding; `lost`: renew or release found the hold gone.
   */
  how: "inside" | "replaced" | "lost";
  detail: string;
}

/**
 * A holder, alone in the critical section by its witness, found that an earlier holder of the
 * name had a fence as high as its own or higher: fences went backwards (or one was reused).
 */
export interface FenceReport {
  type: "fence";
  name: string;
  fence: number;
  /** The highest fence an earlier holder recorded. */
  after: number;
}

/** A storm worker stopped cleanly; its last counters. */
export interface DoneReport {
  type: "done";
  stats: StormStats;
}

/** Something failed inside the worker. */
export interface ErrorReport {
  type: "error";
  error: string;
}

/** Any report. */
export type Report =
  | ReadyReport
  | ArmedReport
  | ResultReport
  | ReleasedReport
  | StatsReport
  | OverlapReport
  | FenceReport
  | DoneReport
  | ErrorReport;

/** One line of a storm worker's journal: a change it made, written after the change. */
export type JournalEntry =
  | { op: "acquire"; name: string; lock_id: string; fence: number; replaced: string | null }
  | { op: "renew"; name: string; lock_id: string }
  | { op: "release"; name: string; lock_id: string };

/** Exit code of a storm worker that quit on purpose while holding a lock. */
export const EXIT_WHILE_HOLDING = 3;

/** Empty storm counters. */
export function emptyStats(): StormStats {
  return {
    attempts: 0,
    acquired: 0,
    takeovers: 0,
    deadWitnesses: 0,
    renewed: 0,
    waitTimeouts: 0,
    reclaims: 0,
    sweeps: 0,
    fences: {},
  };
}
