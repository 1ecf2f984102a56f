/**
 * A shared {@link Backend} (PostgreSQL) as the commands' {@link Locks}: its results read as the
 * file engine's outcomes and errors, so that every command prints, exits and answers `--json`
 * the same on either backend. What differs by nature is decided here, once:
 *
 * - a guard always has a lease ({@link GUARD_DEFAULT_TTL_MS} when it gives none): other hosts
 *   cannot see its process, so only a lease tells them it is gone;
 * - a hold is kept by renewing its lease every TTL/3 ({@link SharedKeeper}); it counts as lost
 *   when a renewal says so, or when none succeeded before its own deadline, measured on this
 *   process's monotonic clock from the send time of the last successful renewal, minus a
 *   margin: always before the database could give the name to anyone else;
 * - waiting is the backend's (`src/backends/wait.ts`): a ticket, wake-ups, polls at expiry.
 *
 * @module
 */

import type {
  AcquireResult,
  Backend,
  BackendInfo,
  JudgedHolder,
  ReleaseResult,
} from "../backend.ts";
import type { AuditFollow, AuditPage, Keeper, Locks } from "../locks.ts";
import { acquireWaiting, isHeld } from "../wait.ts";
import {
  heldIn,
  listingOf,
  type MachineJudge,
  nameStatusOf,
  observationOf,
  staleIn,
  ticketOf,
} from "./views.ts";
import type { Actor, AuditEvent } from "../../audit/event.ts";
import type { AuditFilter } from "../../audit/reader.ts";
import { describeError, InterruptedError } from "../../errors.ts";
import { type MachineFacts, type ProcessProbe, processState } from "../../identity/process.ts";
import type { AcquireOutcome, AcquireRequest, HeldOutcome } from "../../locks/acquire.ts";
import { newLockId } from "../../locks/context.ts";
import { blockedError, SlotsMismatchError, WaitTimeoutError } from "../../locks/errors.ts";
import type {
  FreezeOutcome,
  FreezeRequest,
  UnfreezeOutcome,
  UnfreezeRequest,
} from "../../locks/freeze.ts";
import { type Claim, sameHolder } from "../../locks/holder.ts";
import type { HoldOptions } from "../../locks/hold.ts";
import { KeeperSteps, type LeaseOptions } from "../../locks/lease.ts";
import type { LockRecord, ProcessRef } from "../../locks/lockfile.ts";
import type { Pruned } from "../../locks/prune.ts";
import type { ReleaseOutcome, ReleaseRequest } from "../../locks/release.ts";
import type { RecordState, UnreadableState } from "../../locks/store.ts";
import type { NameStatus, StatusListing } from "../../locks/views.ts";
import type { Asker, WhyObservation } from "../../locks/why.ts";
import { type Cancel, timeout } from "../../timers.ts";

/** The lease of a guard that gives no `--ttl` on a shared backend. */
export const GUARD_DEFAULT_TTL_MS = 30_000;

/** How often a kept hold is checked between renewals (a break is noticed within this). */
export const SHARED_CHECK_MS = 1_000;

/** How long `stop` waits for the keeper's audit events to be stored (the database may be down). */
export const AUDIT_FLUSH_MS = 2_000;

/**
 * How long before its lease runs out (from the last successful renewal's send time) a holder
 * that could not renew counts its hold as lost: a tenth of the TTL, at least 200 ms, so that
 * clock rates and the time to stop the command stay inside the lease.
 */
export function lossMargin(ttlMs: number): number {
  return Math.max(200, Math.round(ttlMs / 10));
}

/** What the shared operations need from the world. */
export interface SharedDeps {
  probe: ProcessProbe;
  actor: Actor;
  /** Monotonic clock, milliseconds (default `performance.now`). */
  clock?: () => number;
}

/** What a keeper needs beyond {@link SharedDeps}. */
export interface KeeperDeps extends SharedDeps {
  /** When the attempt that took the hold was sent (on `clock`); default: when the keeper is made. */
  sentAt?: number;
  /** Called when the hold is lost because the database did not answer in time. */
  onUnanswered?: () => void;
}

/** An unreadable record as the file engine names it (a shared backend has none; for typing). */
function unreadable(problem: string): UnreadableState {
  return { kind: "corrupt", problem, ageMs: 0 };
}

/** A backend's answer to an attempt, as the file engine's outcome. Pure. */
export function outcomeOf(
  result: Exclude<AcquireResult, { kind: "slots-mismatch" }>,
): AcquireOutcome {
  switch (result.kind) {
    case "acquired": {
      const first = result.replaced[0];
      return {
        kind: "acquired",
        lock: result.holder.record,
        replaced: first === undefined
          ? undefined
          : { kind: "stale", lock: first.record, verdict: first.verdict },
      };
    }
    case "reentered":
    case "nested":
      return { kind: result.kind, lock: result.holder.record };
    case "held": {
      const first = result.holders[0];
      const slots = first?.record.slots;
      return {
        kind: "held",
        blocker: first === undefined
          ? { kind: "unreadable", state: unreadable(result.unreadable ?? "no holder readable") }
          : { kind: "lock", lock: first.record, verdict: first.verdict },
        holders: result.holders.length,
        slots: slots !== undefined && slots > 1 ? slots : undefined,
      };
    }
    case "frozen":
      return { kind: "frozen", freeze: result.freeze };
    case "queued":
      return { kind: "queued", ahead: result.ahead.map(ticketOf) };
  }
}

/** A backend's answer to a release, as the file engine's outcome. Pure. */
export function releaseOutcomeOf(result: ReleaseResult): ReleaseOutcome {
  const first = (holders: JudgedHolder[]) => ({
    lock: holders[0].record,
    verdict: holders[0].verdict,
  });
  switch (result.kind) {
    case "released":
    case "nested":
      return { kind: result.kind, lock: result.holder.record };
    case "broken":
      return { kind: "broken", how: result.how, ...first(result.holders), count: result.count };
    case "not-owner":
    case "not-stale":
      return { kind: result.kind, ...first(result.holders) };
    case "removed-unreadable":
      return { kind: "removed-unreadable", problem: result.problem };
    case "unreadable":
      return { kind: "unreadable", state: unreadable(result.problem) };
    case "not-found":
      return { kind: "not-found" };
    case "gone":
      return { kind: "gone", current: { kind: "absent" } };
  }
}

/** The file engine's operations over a shared backend. */
export class SharedLocks implements Locks {
  readonly info: BackendInfo;
  readonly root = undefined;
  readonly shared: Backend;
  readonly #deps: SharedDeps;
  readonly #machine: MachineFacts;
  /** When the attempt that took each hold was sent (monotonic): its lease's earliest start. */
  readonly #sentAt = new Map<string, number>();
  /** Whether a keeper lost its hold because the database did not answer (see {@link close}). */
  #unanswered = false;

  constructor(backend: Backend, deps: SharedDeps) {
    this.shared = backend;
    this.info = backend.info;
    this.#deps = deps;
    this.#machine = deps.probe.machine();
  }

  async hold(
    req: AcquireRequest,
    options: HoldOptions,
  ): Promise<HeldOutcome & { waitedMs: number }> {
    const backend = this.shared;
    const clock = this.#deps.clock ?? (() => performance.now());
    const started = clock();
    const request = {
      name: req.name,
      kind: req.kind,
      claim: req.claim,
      ttlMs: req.ttlMs ?? (req.kind === "guard" ? GUARD_DEFAULT_TTL_MS : undefined),
      slots: req.slots,
      command: req.command,
      client: req.client,
      enclosingLockId: req.enclosingLockId,
      // One id for every attempt of this wait: an attempt whose answer was lost finds its hold.
      lockId: newLockId(),
    };
    // When the attempt that took the name was sent: its lease runs from no earlier.
    let sentAt = clock();
    let result;
    if (!options.wait) {
      result = await backend.acquire({ ...request, denyEvent: "deny" });
    } else {
      result = await acquireWaiting(backend, request, {
        waiter: {
          pid: req.claim.pid,
          start: this.#deps.probe.info(req.claim.pid)?.start,
          host: this.#machine.host,
          bootId: this.#machine.bootId,
          pidNs: this.#machine.pidNs,
          owner: req.claim.owner,
          agentId: req.claim.agentId,
        },
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        clock,
        onAttempt: () => void (sentAt = clock()),
        onBlocked: options.onBlocked === undefined ? undefined : (last) => {
          if (last.kind === "slots-mismatch") return;
          const outcome = outcomeOf(last);
          if (
            outcome.kind !== "acquired" && outcome.kind !== "reentered" && outcome.kind !== "nested"
          ) {
            options.onBlocked!(outcome, clock() - started);
          }
        },
      });
    }
    // As the file engine reports it: a single attempt waited for nothing.
    const waitedMs = options.wait ? clock() - started : 0;
    if (isHeld(result)) {
      this.#sentAt.set(result.holder.record.lockId, sentAt);
      return { ...(outcomeOf(result) as HeldOutcome), waitedMs };
    }
    if (result.kind === "aborted") throw new InterruptedError({ aborted: options.signal?.reason });
    const last = result.kind === "timeout" ? result.last : result;
    if (last.kind === "slots-mismatch") {
      const state = await backend.observe(req.name);
      throw new SlotsMismatchError(req.name, last.slots, req.slots ?? 1, state.holders.length);
    }
    const error = blockedError(
      req.name,
      outcomeOf(last) as Exclude<AcquireOutcome, HeldOutcome>,
      Date.now(),
    );
    if (result.kind === "timeout") {
      // As the file engine records it: one event for the end of a wait that timed out.
      await backend.audit.append([{
        ts: Date.now(),
        event: "timeout",
        name: req.name,
        actor: this.#deps.actor,
        ttlMs: req.ttlMs,
        extra: { waited_ms: Math.round(waitedMs) },
      }]);
      throw new WaitTimeoutError(req.name, waitedMs, error);
    }
    throw error;
  }

  async release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    return releaseOutcomeOf(
      await this.shared.release({
        name: req.name,
        mode: req.mode,
        claim: req.claim,
        lockId: req.lockId,
        enclosingLockId: req.enclosingLockId,
      }),
    );
  }

  async releaseAll(claim: Claim): Promise<LockRecord[]> {
    const released: LockRecord[] = [];
    for (const name of await this.shared.names()) {
      const state = await this.shared.observe(name);
      const mine = state.holders.some(({ record }) =>
        record.kind === "lock" && sameHolder(record, claim)
      );
      if (!mine) continue;
      const outcome = await this.release({ name, mode: "owner", claim });
      if (outcome.kind === "released") released.push(outcome.lock);
    }
    return released;
  }

  keep(lock: LockRecord, options: LeaseOptions): Promise<Keeper> {
    const sentAt = this.#sentAt.get(lock.lockId);
    this.#sentAt.delete(lock.lockId); // one keeper per hold; a long-lived server keeps no trail
    const keeper = new SharedKeeper(this.shared, lock, options, {
      ...this.#deps,
      sentAt,
      onUnanswered: () => void (this.#unanswered = true),
    });
    return Promise.resolve(keeper);
  }

  /** Nothing to prepare: the next holder's path is the database's. */
  warm(): Promise<void> {
    return Promise.resolve();
  }

  async freeze(req: FreezeRequest): Promise<FreezeOutcome> {
    const result = await this.shared.freeze(req);
    return result.kind === "unreadable"
      ? { kind: "unreadable", state: unreadable(result.problem) }
      : result;
  }

  async unfreeze(req: UnfreezeRequest): Promise<UnfreezeOutcome> {
    const result = await this.shared.unfreeze(req);
    switch (result.kind) {
      case "removed-unreadable":
      case "unreadable":
        return { kind: result.kind, state: unreadable(result.problem) };
      default:
        return result;
    }
  }

  /** This machine's facts for judging snapshots: its processes are evidence, as on files. */
  #judge(): MachineJudge {
    const probe = this.#deps.probe;
    return {
      machine: this.#machine,
      processState: (ref) => processState(probe, ref.pid, ref.start),
      carrier: (lockId) => probe.environmentCarrier("LOKT_LOCK_ID", lockId),
    };
  }

  async isHeld(name: string): Promise<boolean> {
    return heldIn(await this.shared.observe(name), this.#judge());
  }

  async whyObservation(name: string, asker: Asker): Promise<WhyObservation> {
    return observationOf(await this.shared.observe(name), asker, this.#judge());
  }

  async statusListing(): Promise<StatusListing> {
    const names = await this.shared.names();
    // One after the other: each process keeps to one pooled connection for its reads, which
    // matters more on a database many agents share than a few round trips here.
    const states = [];
    for (const name of names) states.push(await this.shared.observe(name));
    return listingOf(states, this.#judge(), Date.now());
  }

  async nameStatus(name: string): Promise<NameStatus> {
    return nameStatusOf(await this.shared.observe(name), this.#judge());
  }

  /**
   * Breaks stale holders, each name's in its own transaction, where the backend judges them
   * again (a holder that renewed in between stays). Nothing else to remove: the backend keeps
   * no temporary files, no fence files, and drops dead waiters' tickets as it meets them; an
   * expired freeze blocks nothing and is replaced by the next freeze (`unfreeze` removes it).
   */
  async prune(claim: Claim, only?: string): Promise<Pruned[]> {
    const names = only === undefined ? await this.shared.names() : [only];
    const judge = this.#judge();
    const done: Pruned[] = [];
    for (const name of names) {
      if (!staleIn(await this.shared.observe(name), judge)) continue;
      const result = await this.shared.release({ name, mode: "break-stale", claim });
      if (result.kind !== "broken") continue;
      for (const { verdict } of result.holders) done.push({ kind: "stale-lock", name, verdict });
    }
    return done;
  }

  async readAudit(filter: AuditFilter, limit?: number): Promise<AuditPage> {
    return this.#page(lastOf(await this.shared.audit.query(filter), limit));
  }

  async followAudit(follow: AuditFollow): Promise<void> {
    const limit = follow.limit;
    await this.shared.audit.follow(follow.filter, follow.onEvent, follow.signal, (events) => {
      follow.onHistory(this.#page(lastOf(events, limit)));
    });
  }

  #page(events: AuditPage["events"]): AuditPage {
    return { events, skipped: 0, location: this.info.location, exists: true };
  }

  /**
   * Closes the backend. After a hold was lost because the database did not answer in time, what
   * is still in flight (its audit rows) is abandoned at once: waiting for a database that does
   * not answer would only delay the guard's exit past its lease.
   */
  close(): Promise<void> {
    const unanswered = this.#unanswered;
    return this.shared.close(unanswered ? { waitMs: 0 } : undefined);
  }
}

/**
 * Keeps a hold on a shared backend: renews its lease every TTL/3 and checks every second in
 * between that it is still there. A renewal that fails is retried at the next check; the hold
 * counts as lost at its own deadline (TTL minus {@link lossMargin} after the send time of the
 * last successful renewal) or as soon as the backend says it is gone. One step at a time; never
 * throws into the event loop.
 */
export class SharedKeeper implements Keeper {
  readonly #backend: Backend;
  readonly #lock: LockRecord;
  readonly #options: LeaseOptions;
  readonly #deps: KeeperDeps;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #steps: KeeperSteps;
  #cancelTimer?: Cancel;
  #cancelDeadline?: Cancel;
  #stopped = false;
  /** Monotonic send time of the last successful renewal (or of the acquisition). */
  #renewedAt: number;
  #lost?: RecordState;
  #lostUnanswered = false;
  /** Audit appends not yet settled: `stop` waits for them, so an exit right after keeps them. */
  readonly #appends = new Set<Promise<void>>();

  constructor(backend: Backend, lock: LockRecord, options: LeaseOptions, deps: KeeperDeps) {
    this.#backend = backend;
    this.#lock = lock;
    this.#options = options;
    this.#deps = deps;
    this.#clock = deps.clock ?? (() => performance.now());
    this.#ttlMs = lock.ttlMs ?? GUARD_DEFAULT_TTL_MS;
    // The lease runs from the acquiring transaction, which began after its request was sent.
    this.#renewedAt = deps.sentAt ?? this.#clock();
    this.#steps = new KeeperSteps((error) => {
      this.#record("renew-error", { error: describeError(error) });
      this.#options.onError(error);
    });
  }

  get lost(): RecordState | undefined {
    return this.#lost;
  }

  /** Renews at once (recording `child`, if given), then keeps renewing and checking. */
  start(child?: ProcessRef): void {
    this.#steps.run(() => this.#renew(child));
    this.#armDeadline();
    this.#schedule();
  }

  idle(): Promise<void> {
    return this.#steps.idle;
  }

  /**
   * Stops keeping. A step in flight is waited for, so that a release comes after it, unless the
   * hold is lost already: then nothing follows, and a renewal hanging on an unreachable database
   * (up to its timeout) must not hold up the guard's exit. Audit events on their way are waited
   * for (at most {@link AUDIT_FLUSH_MS}), except after a loss at the deadline: the database did
   * not answer the renewals, and would not answer them either.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelDeadline?.();
    if (!this.#lost) await this.#steps.idle;
    if (this.#appends.size === 0 || this.#lostUnanswered) return;
    let cancel: Cancel | undefined;
    await Promise.race([
      Promise.all(this.#appends),
      new Promise<void>((resolve) => cancel = timeout(resolve, AUDIT_FLUSH_MS)),
    ]);
    cancel?.();
  }

  #leased(): boolean {
    return this.#lock.ttlMs !== undefined;
  }

  #schedule(): void {
    if (this.#stopped || this.#lost) return;
    const every = this.#leased() ? Math.min(this.#ttlMs / 3, SHARED_CHECK_MS) : SHARED_CHECK_MS;
    this.#cancelTimer = timeout(() => {
      this.#steps.run(() => this.#step());
      this.#steps.idle.then(() => this.#schedule());
    }, every);
  }

  /** The hold is lost at the deadline unless a renewal moves it first. */
  #armDeadline(): void {
    if (!this.#leased() || this.#stopped || this.#lost) return;
    this.#cancelDeadline?.();
    const deadline = this.#renewedAt + this.#ttlMs - lossMargin(this.#ttlMs);
    this.#cancelDeadline = timeout(() => {
      const now = this.#clock();
      if (now >= this.#renewedAt + this.#ttlMs - lossMargin(this.#ttlMs)) {
        // The lease cannot end before TTL after the last renewal's send time: half of what is
        // left of it is for stopping the work, the other half for the rates of two clocks and a
        // late timer.
        const leftMs = this.#renewedAt + this.#ttlMs - now;
        this.#lostUnanswered = true;
        this.#deps.onUnanswered?.();
        this.#lose(
          { kind: "absent" },
          "its lease could not be renewed in time",
          Math.max(0, Math.floor(leftMs / 2)),
        );
      } else this.#armDeadline();
    }, Math.max(1, deadline - this.#clock()));
  }

  async #step(): Promise<void> {
    if (this.#stopped || this.#lost) return;
    const due = this.#leased() && this.#clock() - this.#renewedAt >= this.#ttlMs / 3;
    if (due || this.#steps.failing) {
      await this.#renew();
      return;
    }
    const state = await this.#backend.observe(this.#lock.name);
    const mine = state.holders.some((h) => h.record.lockId === this.#lock.lockId);
    if (!mine) this.#lose(currentOf(state.holders, this.#lock));
  }

  async #renew(child?: ProcessRef): Promise<void> {
    if (this.#stopped || this.#lost) return;
    if (!this.#leased() && child === undefined) return;
    const sentAt = this.#clock();
    const result = await this.#backend.renew({
      name: this.#lock.name,
      lockId: this.#lock.lockId,
      child,
    });
    if (result.kind === "lost") {
      const state = await this.#backend.observe(this.#lock.name).catch(() => undefined);
      this.#lose(state === undefined ? { kind: "absent" } : currentOf(state.holders, this.#lock));
      return;
    }
    this.#renewedAt = sentAt;
    this.#armDeadline();
  }

  #lose(current: RecordState, why?: string, stopWithinMs?: number): void {
    if (this.#lost || this.#stopped) return;
    this.#lost = current;
    this.#cancelTimer?.();
    this.#cancelDeadline?.();
    this.#record("lost", {
      ...this.#options.lostExtra,
      ...(why === undefined ? {} : { reason: why }),
      current_lock_id: current.kind === "ok" ? current.lock.lockId : "",
      current_owner: current.kind === "ok" ? current.lock.owner : "",
    });
    try {
      this.#options.onLost(current, stopWithinMs);
    } catch {
      // as for onError
    }
  }

  #record(event: "renew-error" | "lost", extra: Record<string, unknown>): void {
    const lock = this.#lock;
    const entry: AuditEvent = {
      ts: Date.now(),
      event,
      name: lock.name,
      actor: this.#deps.actor,
      lockId: lock.lockId,
      ttlMs: lock.ttlMs,
      fence: lock.fence,
      extra,
    };
    // The database may be the reason: the event is kept if it can be, never awaited here, and
    // `stop` waits a bounded time for it (the guard exits right after).
    const append: Promise<void> = this.#backend.audit.append([entry]).catch(() => {})
      .finally(() => this.#appends.delete(append));
    this.#appends.add(append);
  }
}

/** The last `limit` of `events` (all when undefined), as the file log's reader keeps them. */
function lastOf<T>(events: T[], limit: number | undefined): T[] {
  return limit === undefined ? events : events.slice(Math.max(0, events.length - limit));
}

/** Who holds `lock`'s slot now, as the file engine would read its file. */
function currentOf(holders: { slot: number; record: LockRecord }[], lock: LockRecord): RecordState {
  const now = holders.find((h) => h.slot === (lock.slot ?? 1));
  return now === undefined ? { kind: "absent" } : { kind: "ok", lock: now.record };
}
