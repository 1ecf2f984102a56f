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
  QueueTicket,
  ReleaseResult,
} from "../backend.ts";
import type { Keeper, Locks } from "../locks.ts";
import { acquireWaiting, isHeld } from "../wait.ts";
import type { Actor, AuditEvent } from "../../audit/event.ts";
import { describeError, InterruptedError } from "../../errors.ts";
import type { MachineFacts, ProcessProbe } from "../../identity/process.ts";
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
import type { LeaseOptions } from "../../locks/lease.ts";
import type { LockRecord, ProcessRef } from "../../locks/lockfile.ts";
import type { Ticket } from "../../locks/queue.ts";
import type { ReleaseOutcome, ReleaseRequest } from "../../locks/release.ts";
import type { RecordState, UnreadableState } from "../../locks/store.ts";
import { type Cancel, timeout } from "../../timers.ts";

/** The lease of a guard that gives no `--ttl` on a shared backend. */
export const GUARD_DEFAULT_TTL_MS = 30_000;

/** How often a kept hold is checked between renewals (a break is noticed within this). */
export const SHARED_CHECK_MS = 1_000;

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

/** An unreadable record as the file engine names it (a shared backend has none; for typing). */
function unreadable(problem: string): UnreadableState {
  return { kind: "corrupt", problem, ageMs: 0 };
}

function ticketOf(ticket: QueueTicket): Ticket {
  return { ...ticket, path: "" };
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
  readonly #keepers: SharedKeeper[] = [];

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
    const waitedMs = clock() - started;
    if (isHeld(result)) {
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
    if (result.kind === "timeout") throw new WaitTimeoutError(req.name, waitedMs, error);
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
    const keeper = new SharedKeeper(this.shared, lock, options, this.#deps);
    this.#keepers.push(keeper);
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

  /**
   * Closes the backend. After a hold was lost because the database did not answer in time, what
   * is still in flight (its audit rows) is abandoned at once: waiting for a database that does
   * not answer would only delay the guard's exit past its lease.
   */
  close(): Promise<void> {
    const unanswered = this.#keepers.some((keeper) => keeper.lostUnanswered);
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
  readonly #deps: SharedDeps;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  #busy: Promise<void> = Promise.resolve();
  #cancelTimer?: Cancel;
  #cancelDeadline?: Cancel;
  #stopped = false;
  #failing = false;
  /** Monotonic send time of the last successful renewal (or of the acquisition). */
  #renewedAt: number;
  #lost?: RecordState;
  #lostUnanswered = false;

  constructor(backend: Backend, lock: LockRecord, options: LeaseOptions, deps: SharedDeps) {
    this.#backend = backend;
    this.#lock = lock;
    this.#options = options;
    this.#deps = deps;
    this.#clock = deps.clock ?? (() => performance.now());
    this.#ttlMs = lock.ttlMs ?? GUARD_DEFAULT_TTL_MS;
    // The lease runs from the acquiring transaction, a few milliseconds before the keeper is
    // made (the command was started in between): the loss margin covers that, and `start`
    // renews at once, which moves the deadline to a known send time.
    this.#renewedAt = this.#clock();
  }

  get lost(): RecordState | undefined {
    return this.#lost;
  }

  /** True when the hold was counted lost at its deadline: the database did not answer in time. */
  get lostUnanswered(): boolean {
    return this.#lostUnanswered;
  }

  /** Renews at once (recording `child`, if given), then keeps renewing and checking. */
  start(child?: ProcessRef): void {
    this.#run(() => this.#renew(child));
    this.#armDeadline();
    this.#schedule();
  }

  idle(): Promise<void> {
    return this.#busy;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelDeadline?.();
    await this.#busy;
  }

  #leased(): boolean {
    return this.#lock.ttlMs !== undefined;
  }

  #schedule(): void {
    if (this.#stopped || this.#lost) return;
    const every = this.#leased() ? Math.min(this.#ttlMs / 3, SHARED_CHECK_MS) : SHARED_CHECK_MS;
    this.#cancelTimer = timeout(() => {
      this.#run(() => this.#step());
      this.#busy.then(() => this.#schedule());
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
        this.#lose(
          { kind: "absent" },
          "its lease could not be renewed in time",
          Math.max(0, Math.floor(leftMs / 2)),
        );
      } else this.#armDeadline();
    }, Math.max(1, deadline - this.#clock()));
  }

  #run(step: () => Promise<void>): void {
    this.#busy = this.#busy.then(step).then(
      () => void (this.#failing = false),
      (error) => this.#failed(error),
    );
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    try {
      this.#record("renew-error", { error: describeError(error) });
      this.#options.onError(error);
    } catch {
      // a callback that throws must not stop the keeping
    }
  }

  async #step(): Promise<void> {
    if (this.#stopped || this.#lost) return;
    const due = this.#leased() && this.#clock() - this.#renewedAt >= this.#ttlMs / 3;
    if (due || this.#failing) {
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
    // The database may be the reason: the event is kept if it can be, never awaited.
    this.#backend.audit.append([entry]).catch(() => {});
  }
}

/** Who holds `lock`'s slot now, as the file engine would read its file. */
function currentOf(holders: { slot: number; record: LockRecord }[], lock: LockRecord): RecordState {
  const now = holders.find((h) => h.slot === (lock.slot ?? 1));
  return now === undefined ? { kind: "absent" } : { kind: "ok", lock: now.record };
}
