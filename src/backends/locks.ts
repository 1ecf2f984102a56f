/**
 * What the commands call: the lock operations in the file engine's terms (its requests, outcomes
 * and errors, which every command already renders), whichever backend keeps the locks. Two
 * implementations: the file engine itself (`src/backends/files/locks.ts`, each operation's
 * modules loaded when it is first called, so a command pays only for what it uses) and any
 * shared `Backend` seen through the same operations (`src/backends/shared/locks.ts`). The
 * session gets one from {@link Session.locks}; only the backends' factory knows which it is.
 *
 * @module
 */

import type { BackendInfo } from "./backend.ts";
import type { LoggedEvent } from "../audit/event.ts";
import type { AuditFilter } from "../audit/reader.ts";
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
import type { Pruned } from "../locks/prune.ts";
import type { ReleaseOutcome, ReleaseRequest } from "../locks/release.ts";
import type { RecordState } from "../locks/store.ts";
import type { NameStatus, StatusListing } from "../locks/views.ts";
import type { Asker, WhyObservation } from "../locks/why.ts";

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

/** What `lokt audit` read: the events that pass its filter, oldest first. */
export interface AuditPage {
  events: LoggedEvent[];
  /** Lines that could not be parsed, skipped (files). */
  skipped: number;
  /** Where the log is, for messages: `audit.log`, or the backend's location. */
  location: string;
  /** False when there is no log at all yet (files: neither `audit.log` nor a rotated file). */
  exists: boolean;
}

/** How `lokt audit --tail` follows the log. */
export interface AuditFollow {
  filter: AuditFilter;
  /** How many of the events already there to show first (the last ones); all when undefined. */
  limit?: number;
  /**
   * Called once, before any {@link AuditFollow.onEvent}, with the events there were when
   * following began: none is missed or shown twice between the two.
   */
  onHistory(page: AuditPage): void;
  /** Called with each new event that passes the filter, in log order. */
  onEvent(event: LoggedEvent): void;
  /** Called when lines could not be parsed (files), with how many. */
  onSkipped(count: number): void;
  /** Stops following. */
  signal: AbortSignal;
  /** Files: poll only, without file-system events. */
  noWatch?: boolean;
}

/** The lock operations of one backend, as the commands use them. */
export interface Locks {
  /** Which backend, and where (passwords masked), as `status`, `doctor` and `--json` show it. */
  readonly info: BackendInfo;
  /** The lock root, where locks are files (a guarded command's `LOKT_LOCK_ROOT`). */
  readonly root?: string;
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
  /**
   * True when a live holder holds `name` (a slot of it), as `lock` would see it (files: a young
   * unreadable lock file counts); throws when a record cannot be read at all (`exists`).
   */
  isHeld(name: string): Promise<boolean>;
  /** What `why` looks at for `name`, as `asker` would acquire it. Read-only. */
  whyObservation(name: string, asker: Asker): Promise<WhyObservation>;
  /** Every lock and freeze, judged, with each held name's queue length (`status`). Read-only. */
  statusListing(): Promise<StatusListing>;
  /** One name's records and queue (`status NAME`). Read-only. */
  nameStatus(name: string): Promise<NameStatus>;
  /**
   * Removes what no longer holds anything (`status --prune-expired`), of `only` or of every
   * name, each removal re-checked where the name changes; returns what went.
   */
  prune(claim: Claim, only?: string): Promise<Pruned[]>;
  /** The audit events that pass `filter`, oldest first (the last `limit` of them). */
  readAudit(filter: AuditFilter, limit?: number): Promise<AuditPage>;
  /** Shows the last events, then follows the audit log until `follow.signal` aborts. */
  followAudit(follow: AuditFollow): Promise<void>;
  /** Closes what the backend opened (connections); holds stay. */
  close(): Promise<void>;
}
