/**
 * The life of a guarded command once its lock is held: start it, record its process in the lock,
 * keep the lease alive only while the lock is still ours, forward signals, notice a lost lock, and
 * release when the command ends.
 */

import type { AcquireRequest } from "../locks/acquire.ts";
import type { LockContext } from "../locks/context.ts";
import { lockPath } from "../locks/layout.ts";
import type { LockRecord } from "../locks/lockfile.ts";
import { rehearse } from "../locks/rehearse.ts";
import { release } from "../locks/release.ts";
import { renew } from "../locks/renew.ts";
import { readRecord, type RecordState } from "../locks/store.ts";
import { haltPoint } from "../testing/halt.ts";
import { FORWARDED_SIGNALS, type SignalSource } from "./signals.ts";
import type { Child, Spawner, SpawnFailure } from "./spawn.ts";

/** What to do with the command when its lock is lost: stop it (default) or let it finish. */
export type OnLost = "stop" | "keep";

/** How long a stopped command gets between TERM and KILL. */
export const KILL_GRACE_MS = 5_000;
/** The longest time between two checks that the lock is still ours. */
export const CHECK_EVERY_MAX_MS = 1_000;

/** The outside world of a guard. */
export interface GuardDeps {
  ctx: LockContext;
  spawn: Spawner;
  signals: SignalSource;
  /** One line for the user (stderr). */
  say(line: string): void;
}

/** A held lock and the command to run under it. */
export interface GuardPlan {
  lock: LockRecord;
  /** The caller runs inside the guard that already holds the name: run, do not lock again. */
  nested: boolean;
  command: string[];
  onLost: OnLost;
  killGraceMs?: number;
}

/** How a guarded run ended. */
export type GuardResult =
  /** The command ran to its end; `code` is 128+N if signal N killed it. */
  | { kind: "exited"; code: number; signal: Deno.Signal | null }
  | { kind: "spawn-failed"; failure: SpawnFailure }
  /** The lock was lost while the command ran; `code` is the command's own exit status. */
  | { kind: "lost"; code: number; current: RecordState }
  /** A signal arrived after the lock was taken but before the command started. */
  | { kind: "interrupted"; signal: Deno.Signal };

/** The environment a guarded command receives on top of the caller's. */
export function childEnv(ctx: LockContext, lock: LockRecord): Record<string, string> {
  return {
    LOKT_LOCK_NAME: lock.name,
    LOKT_LOCK_ID: lock.lockId,
    LOKT_LOCK_ROOT: ctx.layout.root,
    LOKT_FENCE: String(lock.fence),
  };
}

/** How often the guard checks its lock: half the TTL, at most every second. */
export function checkInterval(ttlMs: number | undefined): number {
  return ttlMs === undefined ? CHECK_EVERY_MAX_MS : Math.min(ttlMs / 2, CHECK_EVERY_MAX_MS);
}

/** Runs `plan.command` under the held lock and releases it on every path the guard controls. */
export async function superviseGuard(deps: GuardDeps, plan: GuardPlan): Promise<GuardResult> {
  const { ctx } = deps;
  let child: Child | undefined;
  let early: Deno.Signal | undefined;
  const unsubscribe = deps.signals(FORWARDED_SIGNALS, (signal) => {
    if (child) child.kill(signal);
    else early ??= signal;
  });
  const keeper = plan.nested ? undefined : new LeaseKeeper(deps, plan);
  let rehearsal: Promise<void> | undefined;
  try {
    if (early) return { kind: "interrupted", signal: early };
    const started = deps.spawn(
      plan.command,
      plan.nested ? {} : childEnv(ctx, plan.lock),
    );
    if ("kind" in started) return { kind: "spawn-failed", failure: started };
    child = started;
    haltPoint("guard.spawned");
    // A signal that came while the command was being started is still owed to it.
    if (early) child.kill(early);
    if (keeper) {
      keeper.start(child);
      // While the command runs, warm the release (a no-op if the wait already did): it lies on
      // the path to the next holder. After the command is recorded, so that nothing of the
      // guard's own runs during the rehearsal (whose halt points are off).
      rehearsal = keeper.idle().then(() => rehearse(ctx, rehearsalRequest(ctx, plan.lock)));
    }
    const status = await child.status;
    await keeper?.stop();
    const lost = keeper?.lostState;
    if (lost) return { kind: "lost", code: status.code, current: lost };
    return { kind: "exited", code: status.code, signal: status.signal };
  } finally {
    unsubscribe();
    await keeper?.stop();
    await rehearsal;
    if (keeper && !keeper.lostState) {
      await release(ctx, {
        name: plan.lock.name,
        mode: "owner",
        lockId: plan.lock.lockId,
        claim: { owner: "", host: "", agentId: "", ancestors: [], pid: ctx.actor.pid },
      });
    }
  }
}

/** An acquisition like the guard's own, for the rehearsal. */
function rehearsalRequest(ctx: LockContext, lock: LockRecord): AcquireRequest {
  return {
    name: lock.name,
    kind: "guard",
    ttlMs: lock.ttlMs,
    command: lock.command,
    claim: {
      owner: lock.owner,
      host: lock.host,
      agentId: lock.agentId,
      process: { pid: ctx.actor.pid, start: lock.pidStart, source: "self" },
      ancestors: [],
      pid: ctx.actor.pid,
    },
  };
}

/** Records the command in the lock, then checks and renews the lease until stopped. */
class LeaseKeeper {
  #deps: GuardDeps;
  #plan: GuardPlan;
  #timer?: ReturnType<typeof setTimeout>;
  #busy: Promise<void> = Promise.resolve();
  #stopped = false;
  #lastRenewMs: number;
  #killTimer?: ReturnType<typeof setTimeout>;
  lostState?: RecordState;

  constructor(deps: GuardDeps, plan: GuardPlan) {
    this.#deps = deps;
    this.#plan = plan;
    this.#lastRenewMs = deps.ctx.now();
  }

  start(child: Child): void {
    const { ctx } = this.#deps;
    const start = ctx.probe.info(child.pid)?.start;
    // Record the command's process: from here the lock lives while either process lives.
    this.#busy = this.#renew(child, { pid: child.pid, start }).catch((e) => this.#failed(e));
    const every = checkInterval(this.#plan.lock.ttlMs);
    const tick = () => {
      if (this.#stopped) return;
      this.#busy = this.#busy.then(() => this.#check(child)).catch((e) => this.#failed(e)).finally(
        () => {
          if (!this.#stopped && !this.lostState) this.#timer = setTimeout(tick, every);
        },
      );
    };
    this.#timer = setTimeout(tick, every);
  }

  /** Resolves once no check or renewal is in flight (the first one records the command). */
  idle(): Promise<void> {
    return this.#busy;
  }

  /** Stops checking; waits for a check in flight so that the release comes after it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#killTimer);
    await this.#busy;
  }

  /** A check that could not be made (a full disk, a root gone read-only): say so, keep going. */
  #failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#deps.say(`could not check or renew the lock (will retry): ${message}`);
  }

  async #check(child: Child): Promise<void> {
    if (this.#stopped) return;
    const { ctx } = this.#deps;
    const ttlMs = this.#plan.lock.ttlMs;
    if (ttlMs !== undefined && ctx.now() - this.#lastRenewMs >= ttlMs / 2) {
      await this.#renew(child);
      return;
    }
    // Between renewals a read is enough: only a break removes or replaces our record.
    const state = readRecord(lockPath(ctx.layout, this.#plan.lock.name), ctx.now());
    if (state.kind !== "ok" || state.lock.lockId !== this.#plan.lock.lockId) {
      this.#lost(child, state);
    }
  }

  async #renew(child: Child, ref?: { pid: number; start?: string }): Promise<void> {
    const { ctx } = this.#deps;
    const outcome = await renew(ctx, {
      name: this.#plan.lock.name,
      lockId: this.#plan.lock.lockId,
      child: ref,
    });
    if (outcome.kind === "lost") this.#lost(child, outcome.current);
    else this.#lastRenewMs = ctx.now();
  }

  #lost(child: Child, current: RecordState): void {
    if (this.lostState || this.#stopped) return;
    this.lostState = current;
    clearTimeout(this.#timer);
    const { ctx, say } = this.#deps;
    const { lock, onLost } = this.#plan;
    const now = ctx.now();
    const holder = current.kind === "ok"
      ? `now held by ${current.lock.owner}@${current.lock.host}` +
        (current.lock.pid > 0 ? ` (pid ${current.lock.pid})` : "")
      : current.kind === "absent"
      ? "its lock file was removed"
      : `its lock file is unreadable (${current.kind})`;
    ctx.audit.append({
      ts: now,
      event: "lost",
      name: lock.name,
      actor: ctx.actor,
      lockId: lock.lockId,
      ttlMs: lock.ttlMs,
      fence: lock.fence,
      extra: {
        child_pid: child.pid,
        action: onLost,
        current_lock_id: current.kind === "ok" ? current.lock.lockId : "",
        current_owner: current.kind === "ok" ? current.lock.owner : "",
      },
    });
    if (onLost === "keep") {
      say(`lock "${lock.name}" was lost while the command ran: ${holder}; letting it finish`);
      return;
    }
    say(`lock "${lock.name}" was lost while the command ran: ${holder}; stopping the command`);
    child.kill("SIGTERM");
    this.#killTimer = setTimeout(
      () => child.kill("SIGKILL"),
      this.#plan.killGraceMs ?? KILL_GRACE_MS,
    );
  }
}
