/**
 * Keeping a hold alive: check now and then that the record is still ours, renew its lease at half
 * its TTL, and notice when it was lost. Shared by `lokt guard` and the library. One check or
 * renewal runs at a time: the next is scheduled when the last has finished, so a renewal that
 * waits for the name's kernel lock is never joined by more. Nothing is thrown into the event loop:
 * when checks start failing (a full disk, a file in the way), the first failure of the run is
 * recorded as `renew-error` and goes to `onError`, and keeping goes on; a loss is recorded as
 * `lost` and reported once.
 */

import { describeError } from "../errors.ts";
import type { LockContext } from "./context.ts";
import { recordPath } from "./layout.ts";
import type { LockRecord, ProcessRef } from "./lockfile.ts";
import { renew } from "./renew.ts";
import { readRecord, type RecordState } from "./store.ts";
import { type Cancel, timeout } from "../timers.ts";

/** The longest time between two checks that a hold is still ours. */
export const CHECK_EVERY_MAX_MS = 1_000;

/** How often a hold is checked: half its TTL, at most every second. */
export function checkInterval(ttlMs: number | undefined): number {
  return ttlMs === undefined ? CHECK_EVERY_MAX_MS : Math.min(ttlMs / 2, CHECK_EVERY_MAX_MS);
}

/** How to keep a hold. */
export interface LeaseOptions {
  /**
   * Called once, when the record is found gone or another's, or its lease could not be renewed in
   * time; keeping stops. `stopWithinMs`, when given, is how long the hold's work may still run:
   * after that its lease may run out and the name pass to another holder (a shared backend whose
   * database stopped answering), so a guard must have its command stopped by then.
   */
  onLost(current: RecordState, stopWithinMs?: number): void;
  /**
   * Called when checks or renewals start failing: with the first error of each run of failures
   * (the next success ends the run). Keeping goes on.
   */
  onError(error: unknown): void;
  /** Fields added to the `lost` audit line (a guard's command pid and what it does about it). */
  lostExtra?: Record<string, unknown>;
  /** Let the process exit while a check is only scheduled (a library holder). */
  unref?: boolean;
}

/**
 * A keeper's checks and renewals, one at a time: each step starts once the last has settled.
 * A failing step is never thrown into the event loop: the first failure of each run of failures
 * goes to `onFirstFailure` (the next success ends the run).
 */
export class KeeperSteps {
  #busy: Promise<void> = Promise.resolve();
  #failing = false;
  readonly #onFirstFailure: (error: unknown) => void;

  constructor(onFirstFailure: (error: unknown) => void) {
    this.#onFirstFailure = onFirstFailure;
  }

  /** Resolves once no step is in flight. */
  get idle(): Promise<void> {
    return this.#busy;
  }

  /** True while the last step failed. */
  get failing(): boolean {
    return this.#failing;
  }

  /** Runs `step` after whatever is in flight. */
  run(step: () => Promise<void> | void): void {
    this.#busy = this.#busy.then(step).then(
      () => void (this.#failing = false),
      (error) => this.#failed(error),
    );
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    try {
      this.#onFirstFailure(error);
    } catch {
      // a callback (or sink) that throws must not stop the keeping, nor reach the event loop
    }
  }
}

/** Checks and renews one hold until stopped or lost. */
export class LeaseKeeper {
  readonly #ctx: LockContext;
  readonly #lock: LockRecord;
  readonly #options: LeaseOptions;
  #cancelTimer?: Cancel;
  readonly #steps: KeeperSteps;
  #stopped = false;
  #lastRenewMs: number;
  #lost?: RecordState;

  constructor(ctx: LockContext, lock: LockRecord, options: LeaseOptions) {
    this.#ctx = ctx;
    this.#lock = lock;
    this.#options = options;
    this.#lastRenewMs = ctx.now();
    this.#steps = new KeeperSteps((error) => {
      this.#record("renew-error", { error: describeError(error) });
      this.#options.onError(error);
    });
  }

  /** What holds the name since the hold was lost, if it was. */
  get lost(): RecordState | undefined {
    return this.#lost;
  }

  /**
   * Starts keeping the hold. With `child`, renews at once to record the guarded command's process:
   * from then on the lock lives while either process lives.
   */
  start(child?: ProcessRef): void {
    if (child !== undefined) this.#steps.run(() => this.#renew(child));
    this.#schedule();
  }

  /** Resolves once no check or renewal is in flight. */
  idle(): Promise<void> {
    return this.#steps.idle;
  }

  /** Stops keeping; waits for a check in flight, so that a release comes after it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    await this.#steps.idle;
  }

  #schedule(): void {
    if (this.#stopped || this.#lost) return;
    const due = () => {
      this.#steps.run(() => this.#check());
      this.#steps.idle.then(() => this.#schedule());
    };
    const ms = checkInterval(this.#lock.ttlMs);
    if (this.#options.unref) {
      const timer = setTimeout(due, ms);
      Deno.unrefTimer(timer);
      this.#cancelTimer = () => clearTimeout(timer);
    } else {
      // Not the global setTimeout: its first use costs a guard about 4 ms (src/timers.ts).
      this.#cancelTimer = timeout(due, ms);
    }
  }

  async #check(): Promise<void> {
    if (this.#stopped || this.#lost) return;
    const ctx = this.#ctx;
    const ttlMs = this.#lock.ttlMs;
    const sinceMs = ctx.now() - this.#lastRenewMs;
    if (ttlMs !== undefined && (sinceMs >= ttlMs / 2 || sinceMs < 0)) {
      await this.#renew();
      return;
    }
    // Between renewals a read is enough: only a break removes or replaces our record.
    const state = readRecord(recordPath(ctx.layout, this.#lock), ctx.now());
    if (state.kind !== "ok" || state.lock.lockId !== this.#lock.lockId) this.#lose(state);
  }

  async #renew(child?: ProcessRef): Promise<void> {
    const ctx = this.#ctx;
    const outcome = await renew(ctx, {
      name: this.#lock.name,
      lockId: this.#lock.lockId,
      child,
      slot: this.#lock.slot,
      slots: this.#lock.slots,
    });
    if (outcome.kind === "lost") this.#lose(outcome.current);
    else this.#lastRenewMs = ctx.now();
  }

  #lose(current: RecordState): void {
    if (this.#lost || this.#stopped) return;
    this.#lost = current;
    this.#cancelTimer?.();
    this.#record("lost", {
      ...this.#options.lostExtra,
      current_lock_id: current.kind === "ok" ? current.lock.lockId : "",
      current_owner: current.kind === "ok" ? current.lock.owner : "",
    });
    try {
      this.#options.onLost(current);
    } catch {
      // as for onError
    }
  }

  #record(event: "renew-error" | "lost", extra: Record<string, unknown>): void {
    const ctx = this.#ctx;
    const lock = this.#lock;
    ctx.audit.append({
      ts: ctx.now(),
      event,
      name: lock.name,
      actor: ctx.actor,
      lockId: lock.lockId,
      ttlMs: lock.ttlMs,
      fence: lock.fence,
      extra,
    });
  }
}
