/**
 * What the commands call: the lock operations in the file engine's terms (its requests, outcomes
 * and errors, which every command already renders), whichever backend keeps the locks. Two
 * implementations: the file engine itself (`src/backends/files/locks.ts`, each operation's
 * modules loaded when it is first called, so a command pays only for what it uses) and any
 * shared {@link Backend} seen through the same operations (`src/backends/shared/locks.ts`). The
 * session gets one from {@link Session.locks}; only the backends' factory knows which it is.
 *
 * @module
 */

import type { Backend, BackendInfo } from "./backend.ts";
import type { AcquireRequest, HeldOutcome } from "../locks/acquire.ts";
import type {
  FreezeOutcome,
  FreezeRequest,
  UnfreezeOutcome,
  UnfreezeRequest,
} from "../locks/freeze.ts";
import type { Claim } from "../locks/holder.ts";
import type { HoldOptions } from "../locks/hold.ts";
import type { LeaseOptions } from "../locks/lease.ts";
import type { LockRecord, ProcessRef } from "../locks/lockfile.ts";
import type { ReleaseOutcome, ReleaseRequest } from "../locks/release.ts";
import type { RecordState } from "../locks/store.ts";

/** Keeps one hold alive while a guarded command runs (or a library or MCP holder lives). */
export interface Keeper {
  /** What holds the name since the hold was lost, if it was. */
  readonly lost: RecordState | undefined;
  /** Starts keeping; with `child`, records the guarded command's process in the hold at once. */
  start(child?: ProcessRef): void;
  /** Resolves once no check or renewal is in flight. */
  idle(): Promise<void>;
  /** Stops keeping; waits for a check in flight, so that a release comes after it. */
  stop(): Promise<void>;
}

/** The lock operations of one backend, as the commands use them. */
export interface Locks {
  /** Which backend, and where (passwords masked), as `status`, `doctor` and `--json` show it. */
  readonly info: BackendInfo;
  /** The lock root, where locks are files (a guarded command's `LOKT_LOCK_ROOT`). */
  readonly root?: string;
  /**
   * The shared backend behind these operations, for the read-only views (`status`, `why`,
   * `exists`) that read its snapshots; undefined for files, whose views read the files.
   */
  readonly shared?: Backend;
  /**
   * Takes `req.name`: once, or waiting as `options` say. Throws the blocking reason as the file
   * engine's typed errors (held, frozen, queued, wait timeout, interrupted).
   */
  hold(req: AcquireRequest, options: HoldOptions): Promise<HeldOutcome & { waitedMs: number }>;
  release(req: ReleaseRequest): Promise<ReleaseOutcome>;
  /** Releases every plain lock `claim` holds; returns what was released. */
  releaseAll(claim: Claim): Promise<LockRecord[]>;
  /** Keeps `lock` alive until stopped or lost. */
  keep(lock: LockRecord, options: LeaseOptions): Promise<Keeper>;
  /**
   * Prepares the path from waiting to holding `lock`'s name while its command runs, so the next
   * holder gets it sooner (files: a rehearsal in a scratch root); resolves when done.
   */
  warm(lock: LockRecord): Promise<void>;
  freeze(req: FreezeRequest): Promise<FreezeOutcome>;
  unfreeze(req: UnfreezeRequest): Promise<UnfreezeOutcome>;
  /** Closes what the backend opened (connections); holds stay. */
  close(): Promise<void>;
}
