/**
 * The backend seam (a draft): what every surface (CLI, guard, library, MCP server) needs from the
 * place where locks live. A backend keeps the state of each name (its slots, holders, freeze,
 * queue and fence counter) and changes it only inside that name's critical section; the
 * decisions over that state (is a holder stale, may this caller re-enter, what `why` says) stay
 * the shared pure functions of `src/locks/` (`judge`, `holds`, the `why` reasoning), fed with
 * records in the lock file's shape ({@link LockRecord}).
 *
 * Counting locks are part of the shape: a name has N slots (1 for a plain mutex), at most N live
 * holders each with a distinct slot number, one fence counter across its slots and one FIFO
 * queue across the whole name. A long-lived process (an MCP server) may hold many names through
 * one backend; every operation names the hold it acts on by its `lockId`.
 *
 * Slots are numbered 1 to N, as `LOKT_SLOT`, `status` and the lock files number them; a plain
 * mutex's holder has slot 1.
 *
 * Two backends implement it: files (`src/backends/files/`, over the file engine of `src/locks/`)
 * and PostgreSQL (`src/backends/postgres/`); `tests/backends/contract_test.ts` runs one suite
 * against both. Not wired yet: the CLI and the library still call the file engine directly.
 *
 * @module
 */

import type { AuditEvent, LoggedEvent } from "../audit/event.ts";
import type { AuditFilter } from "../audit/reader.ts";
import type { Claim } from "../locks/holder.ts";
import type { LockKind, LockRecord } from "../locks/lockfile.ts";
import type { FreezeRequest } from "../locks/freeze.ts";
import type { Ticket } from "../locks/queue.ts";
import type { Verdict } from "../locks/stale.ts";

/** Which backend, and where, as `status` and `doctor` show it (passwords masked). */
export interface BackendInfo {
  kind: "files" | "postgres";
  /** The lock root, or the database URL with its password masked. */
  location: string;
  /** The namespace the names live in (shared backends only). */
  namespace?: string;
  /**
   * Where the choice came from, for people: `LOKT_BACKEND`, the `lokt.jsonc` that names it, or
   * `default`. Set by the factory (`src/backends/factory.ts`).
   */
  source?: string;
  /** Where the namespace came from: `LOKT_NAMESPACE`, the `lokt.jsonc`, the origin remote. */
  namespaceSource?: string;
}

/** One holder of a name: the slot it occupies and its record, in the lock file's shape. */
export interface Holder {
  /** 1 to the name's N (1 for a plain mutex), distinct among the name's holders. */
  slot: number;
  record: LockRecord;
}

/** A holder with the judgement the backend made of it in the same critical section. */
export interface JudgedHolder extends Holder {
  verdict: Verdict;
}

/**
 * A waiter's place in a name's queue: the file engine's ticket without its file. `seq` is unique
 * within the backend, lower is earlier; times are on the backend's clock.
 */
export type QueueTicket = Omit<Ticket, "path" | "left">;

/** The waiter that joins a queue: who it is and which process waits. */
export type Waiter = Omit<QueueTicket, "seq" | "sinceMs" | "beatMs">;

/**
 * Everything known about one name at one instant, read-only: what `status` and `why` need.
 * Records are raw; judging them is the caller's pure business (`judge` with `nowMs`).
 */
export interface NameState {
  name: string;
  /** The backend's clock at the instant of the snapshot (leases are decided by it). */
  nowMs: number;
  /** How many holders the name admits at once. */
  slots: number;
  /** The current holder records, live or stale, by slot. */
  holders: Holder[];
  /** The freeze record, when one is set (an expired one included). */
  freeze?: LockRecord;
  /** Queue tickets, earliest first. */
  waiters: QueueTicket[];
  /** The highest fence ever handed out for the name (0: never acquired). */
  fence: number;
}

/** One attempt to take a slot of a name. */
export interface AcquireRequest {
  name: string;
  kind: Exclude<LockKind, "freeze">;
  claim: Claim;
  ttlMs?: number;
  /** How many slots the name has; a free name takes this value, a held one must match. */
  slots?: number;
  command?: string[];
  /** The MCP client a `lokt mcp` holder serves (`name/version`), recorded for people. */
  client?: string;
  /** `LOKT_LOCK_ID` inherited from an enclosing guard. */
  enclosingLockId?: string;
  /** The caller's ticket when it waits: only the earliest live tickets get free slots. */
  ticket?: QueueTicket;
  /** Event to record when blocked (`deny`; `wait` for a wait's first attempt), or none. */
  denyEvent?: "deny" | "wait" | null;
  /**
   * The id the new hold takes (default: a fresh one). An attempt repeated with the same id
   * after a fault finds the hold it already has, if the first attempt took it but its answer
   * was lost. A backend whose answer cannot be lost once it changed something (files: the
   * change and its answer happen in the calling process) takes a fresh id regardless.
   */
  lockId?: string;
}

/** What one attempt did. */
export type AcquireResult =
  /** A slot taken: the name had a free slot, or a stale holder's slot was taken over. */
  | { kind: "acquired"; holder: Holder; replaced: JudgedHolder[] }
  /** The same holder took its own plain lock again: lease refreshed, same fence and slot. */
  | { kind: "reentered"; holder: Holder }
  /** The caller runs inside the guard that holds a slot (`LOKT_LOCK_ID` matches). */
  | { kind: "nested"; holder: Holder }
  /**
   * Every slot has a live holder (judged at `nowMs`, the backend's clock). `holders` lists the
   * live holders that could be read; on files a young unreadable holder file blocks too
   * (`unreadable` names its problem) and is not listed.
   */
  | { kind: "held"; holders: JudgedHolder[]; nowMs: number; unreadable?: string }
  /** A freeze stands; `freeze` is undefined when its record cannot be read (files). */
  | { kind: "frozen"; freeze?: LockRecord }
  /** A slot is free, but waiters queued earlier have the next turns. */
  | { kind: "queued"; ahead: QueueTicket[] }
  /** The name is held with another slot count. */
  | { kind: "slots-mismatch"; slots: number };

/** `owner`: release your own; `break-stale`: remove only stale holders; `force`: remove any. */
export type ReleaseMode = "owner" | "break-stale" | "force";

/** A release or a break of one hold (by `lockId`) or of the caller's hold. */
export interface ReleaseRequest {
  name: string;
  mode: ReleaseMode;
  claim: Claim;
  /**
   * Owner mode only: release exactly this hold (a guard's, a library handle's); without it, the
   * hold the claim owns. A break judges every holder and names none: both backends refuse a
   * `lockId` there.
   */
  lockId?: string;
  enclosingLockId?: string;
}

/** What a release did. */
export type ReleaseResult =
  | { kind: "released"; holder: Holder }
  /**
   * Holders removed by a break: `count` of them; `holders` lists them, or (files) the first
   * one only.
   */
  | { kind: "broken"; how: "force" | "stale"; holders: JudgedHolder[]; count: number }
  /** A holder's record that could not be read was removed (files: an empty or corrupt file). */
  | { kind: "removed-unreadable"; problem: string }
  /** A holder's record cannot be read, and this mode does not remove it (files). */
  | { kind: "unreadable"; problem: string }
  | { kind: "nested"; holder: Holder }
  | { kind: "not-found" }
  | { kind: "not-owner"; holders: JudgedHolder[] }
  | { kind: "not-stale"; holders: JudgedHolder[] }
  /** A `lockId` release found no such hold: it was lost (taken over or broken). */
  | { kind: "gone" };

/**
 * A renewal of one exact hold: its lease runs its own TTL again from now (a new TTL comes with a
 * re-entry, `acquire` of a plain lock by its holder).
 */
export interface RenewRequest {
  name: string;
  lockId: string;
  /** The guarded command's process, recorded for liveness. */
  child?: { pid: number; start?: string };
}

/** What a renewal found. */
export type RenewResult =
  | { kind: "renewed"; holder: Holder }
  /** The hold is gone: broken, or expired and taken over. */
  | { kind: "lost" };

/** A freeze of a name (the file engine's request). */
export type { FreezeRequest };

/** What a freeze did. */
export type FreezeResult =
  | { kind: "frozen"; freeze: LockRecord }
  | { kind: "extended"; freeze: LockRecord }
  | { kind: "held"; freeze: LockRecord }
  /** The name's freeze record cannot be read (files: a young empty or corrupt file). */
  | { kind: "unreadable"; problem: string };

/** Lifting a freeze: its owner may, anyone may with `force`. */
export interface UnfreezeRequest {
  name: string;
  owner: string;
  force: boolean;
  /** Why, recorded in the audit event (the MCP server requires one with `force`). */
  reason?: string;
}

/** What lifting a freeze did. */
export type UnfreezeResult =
  | { kind: "unfrozen"; freeze: LockRecord; forced: boolean }
  | { kind: "not-found" }
  | { kind: "not-owner"; freeze: LockRecord }
  /** An unreadable freeze record was removed (`force`; files). */
  | { kind: "removed-unreadable"; problem: string }
  /** The freeze record cannot be read and `force` was not given (files). */
  | { kind: "unreadable"; problem: string };

/**
 * Wake-ups for one name, counted from the moment the watch began, so that a change between an
 * attempt and the wait that follows it is never missed.
 */
export interface Watch extends Disposable {
  /**
   * Resolves true once the name changed since the previous call (or since the watch began),
   * false when `timeoutMs` passed or `signal` aborted first. One call at a time.
   */
  changed(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/** The audit log: the same events, whatever stores them. */
export interface AuditStore {
  /** Appends events; never throws for a storage failure (the caller's operation stands). */
  append(events: readonly AuditEvent[]): Promise<void>;
  /** The events that pass `filter`, oldest first. */
  query(filter: AuditFilter): Promise<LoggedEvent[]>;
  /**
   * Calls `onEvent` with every new event that passes `filter` until `signal` aborts. With
   * `onHistory`, first calls it once with the events that passed `filter` when following began,
   * oldest first: read at the same point the following starts from, so that no event falls
   * between the two or shows in both.
   */
  follow(
    filter: AuditFilter,
    onEvent: (event: LoggedEvent) => void,
    signal: AbortSignal,
    onHistory?: (events: LoggedEvent[]) => void,
  ): Promise<void>;
}

/**
 * Where locks live. Every changing operation runs as one inspect-then-act inside the name's
 * critical section and records its audit events with the change (in its transaction, or in the
 * same critical section).
 */
export interface Backend extends AsyncDisposable {
  readonly info: BackendInfo;
  acquire(req: AcquireRequest): Promise<AcquireResult>;
  release(req: ReleaseRequest): Promise<ReleaseResult>;
  renew(req: RenewRequest): Promise<RenewResult>;
  freeze(req: FreezeRequest): Promise<FreezeResult>;
  unfreeze(req: UnfreezeRequest): Promise<UnfreezeResult>;
  /** Takes a ticket at the end of `name`'s queue. */
  joinQueue(name: string, waiter: Waiter): Promise<QueueTicket>;
  /** Refreshes a ticket's heartbeat; false when it is gone (judged dead and removed). */
  beat(name: string, ticket: QueueTicket): Promise<boolean>;
  leaveQueue(name: string, ticket: QueueTicket): Promise<void>;
  /** Starts counting changes of `name` (begin it before the first attempt). */
  watch(name: string): Promise<Watch>;
  /** A read-only snapshot of one name. */
  observe(name: string): Promise<NameState>;
  /** The names that have holders, a freeze or waiters, sorted. */
  names(): Promise<string[]>;
  readonly audit: AuditStore;
  /**
   * Closes connections; holds are not released (their records stay until released or stale).
   * What is still in flight (an audit row sent without waiting for it) gets up to `waitMs`
   * (default 1 s) to finish.
   */
  close(options?: { waitMs?: number }): Promise<void>;
}
