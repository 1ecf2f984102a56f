/**
 * The life of a guarded command once its lock is held: start it, record its process in the lock,
 * keep the lease alive only while the lock is still ours, forward signals, notice a lost lock, and
 * release when the command ends.
 */

import type { Keeper, Locks } from "../backends/locks.ts";
import type { ProcessProbe } from "../identity/process.ts";
import type { LockRecord } from "../locks/lockfile.ts";
import type { RecordState } from "../locks/store.ts";
import { phase } from "../phases.ts";
import { haltPoint } from "../testing/halt.ts";
import { type Cancel, timeout } from "../timers.ts";
import { FORWARDED_SIGNALS, type SignalSource } from "./signals.ts";
import type { Child, Spawner, SpawnFailure } from "./spawn.ts";

/** What to do with the command when its lock is lost: stop it (default) or let it finish. */
export type OnLost = "stop" | "keep";

/** How long a stopped command gets between TERM and KILL. */
export const KILL_GRACE_MS = 5_000;

/** The outside world of a guard. */
export interface GuardDeps {
  /** Where the lock is kept, renewed and released. */
  locks: Locks;
  probe: ProcessProbe;
  /** This process's id (the guard's releases name it). */
  pid: number;
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

/**
 * The environment a guarded command receives on top of the caller's; `root` is the lock root
 * where locks are files (none on a shared backend).
 */
export function childEnv(root: string | undefined, lock: LockRecord): Record<string, string> {
  return {
    LOKT_LOCK_NAME: lock.name,
    LOKT_LOCK_ID: lock.lockId,
    ...(root === undefined ? {} : { LOKT_LOCK_ROOT: root }),
    LOKT_FENCE: String(lock.fence),
    LOKT_SLOT: String(lock.slot ?? 1),
  };
}

/** Runs `plan.command` under the held lock and releases it on every path the guard controls. */
export async function superviseGuard(deps: GuardDeps, plan: GuardPlan): Promise<GuardResult> {
  const { locks, probe } = deps;
  let child: Child | undefined;
  let early: Deno.Signal | undefined;
  const unsubscribe = deps.signals(FORWARDED_SIGNALS, (signal) => {
    if (child) child.kill(signal);
    else early ??= signal;
  });
  let keeper: Keeper | undefined;
  let cancelKill: Cancel | undefined;
  let rehearsal: Promise<void> | undefined;
  try {
    if (early) return { kind: "interrupted", signal: early };
    const started = deps.spawn(
      plan.command,
      plan.nested ? {} : childEnv(locks.root, plan.lock),
    );
    if ("kind" in started) return { kind: "spawn-failed", failure: started };
    const running = child = started;
    let ended = false;
    const exit = running.status.then((status) => {
      ended = true;
      return status;
    });
    haltPoint("guard.spawned");
    phase("spawned");
    // A signal that came while the command was being started is still owed to it.
    if (early) running.kill(early);
    if (!plan.nested) {
      keeper = await locks.keep(plan.lock, {
        lostExtra: { child_pid: running.pid, action: plan.onLost },
        onLost: (current, stopWithinMs) => {
          cancelKill = stopOnLoss(deps, plan, running, current, stopWithinMs);
        },
        onError: (error) => {
          const message = error instanceof Error ? error.message : String(error);
          deps.say(`could not check or renew the lock (retrying until it works): ${message}`);
        },
      });
      keeper.start({ pid: running.pid, start: probe.info(running.pid)?.start });
      phase("keeper-started");
      // While the command runs, warm the release (a no-op if the wait already did): it lies on
      // the path to the next holder. It starts once the command is recorded, and a release that
      // comes meanwhile does not wait for it. Not once the command has ended: nothing is left to
      // hide it behind, and the guard would exit that much later (measured: 4 to 5 ms of a
      // `guard -- true`).
      rehearsal = keeper.idle().then(() => {
        phase("recorded");
        if (ended || hasEnded(probe, running.pid)) return;
        return locks.warm(plan.lock);
      }).then(() => phase("rehearsed"));
    }
    const status = await exit;
    phase("command-exited");
    await keeper?.stop();
    const lost = keeper?.lost;
    if (lost) return { kind: "lost", code: status.code, current: lost };
    return { kind: "exited", code: status.code, signal: status.signal };
  } finally {
    unsubscribe();
    await keeper?.stop();
    cancelKill?.();
    try {
      // Not after a rehearsal still under way: the next holder waits for this release, and the
      // rehearsal works in its own scratch root (its steps and halt points are its own).
      if (!plan.nested && !keeper?.lost) {
        await locks.release({
          name: plan.lock.name,
          mode: "owner",
          lockId: plan.lock.lockId,
          slot: plan.lock.slot,
          slots: plan.lock.slots,
          claim: { owner: "", host: "", agentId: "", ancestors: [], pid: deps.pid },
        });
        phase("released");
      }
    } finally {
      // It removes its scratch root before the guard returns.
      await rehearsal;
    }
  }
}

/** Whether the command has exited (a zombie not yet reaped, or gone), as far as the probe sees. */
function hasEnded(probe: ProcessProbe, pid: number): boolean {
  const info = probe.info(pid);
  return info === undefined ? probe.exists(pid) === false : info.zombie;
}

/**
 * Says that the lock was lost, and stops the command unless it may finish (TERM, then KILL after
 * the grace period, or sooner when the lease may pass to another holder within
 * `stopWithinMs`); returns what cancels the KILL.
 */
function stopOnLoss(
  deps: GuardDeps,
  plan: GuardPlan,
  child: Child,
  current: RecordState,
  stopWithinMs?: number,
): Cancel | undefined {
  const { lock, onLost } = plan;
  const holder = stopWithinMs !== undefined
    ? "its lease could not be renewed in time: the lock database did not answer"
    : current.kind === "ok"
    ? `now held by ${current.lock.owner}@${current.lock.host}` +
      (current.lock.pid > 0 ? ` (pid ${current.lock.pid})` : "")
    : current.kind === "absent"
    ? "it was released or broken by someone else"
    : `its lock file is unreadable (${current.kind})`;
  if (onLost === "keep") {
    deps.say(`lock "${lock.name}" was lost while the command ran: ${holder}; letting it finish`);
    return undefined;
  }
  const graceMs = Math.min(plan.killGraceMs ?? KILL_GRACE_MS, stopWithinMs ?? Infinity);
  const soon = graceMs < (plan.killGraceMs ?? KILL_GRACE_MS)
    ? ` (killed in ${graceMs} ms unless it ends first: then the lease may pass to another holder)`
    : "";
  deps.say(
    `lock "${lock.name}" was lost while the command ran: ${holder}; stopping the command${soon}`,
  );
  child.kill("SIGTERM");
  return timeout(() => child.kill("SIGKILL"), graceMs);
}
