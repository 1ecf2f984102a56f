/**
 * One demo worker: a real lokt process that, round after round, takes the lock `demo` (waiting
 * its turn), adds 1 to the shared counter file the slow way, and releases. It reports each round
 * to the coordinator as a JSON line on stdout.
 */

import type { Claim } from "../../locks/holder.ts";
import type { Session } from "../session.ts";
import { acquireOrWait } from "../waiting.ts";
import { DEMO_LOCK, encodeMessage, type Round, type WorkerMessage } from "./report.ts";

/** What a worker does. */
export interface WorkerOptions {
  index: number;
  /** The demo's temporary directory: the counter file lives there. */
  dir: string;
  rounds: number;
  delayMs: number;
  /** False for `--no-lock`. */
  lock: boolean;
  /** Resolves when the coordinator says go, so that every worker starts together. */
  start: () => Promise<void>;
}

/** The counter file of a demo directory. */
export function counterPath(dir: string): string {
  return `${dir}/counter`;
}

/** Reads the counter; a file caught half-written by an unlocked writer reads as 0. */
export function readCounter(dir: string): number {
  const value = Number(Deno.readTextFileSync(counterPath(dir)).trim() || "0");
  return Number.isFinite(value) ? value : 0;
}

/** Waits for the first line on stdin (the coordinator's go), or its end. */
export async function lineFromStdin(): Promise<void> {
  const buffer = new Uint8Array(64);
  while (true) {
    const n = await Deno.stdin.read(buffer);
    if (n === null || buffer.subarray(0, n).includes(10)) return;
  }
}

/** A guard-style claim: the lock belongs to this worker process alone. */
function workerClaim(session: Session): Claim {
  const actor = session.actor();
  const pid = session.world.pid;
  return {
    owner: actor.owner,
    host: actor.host,
    agentId: actor.agentId,
    process: { pid, start: session.world.probe().info(pid)?.start, source: "self" },
    ancestors: [],
    pid,
  };
}

/** Runs the worker's rounds; returns its exit code. */
export async function runWorker(session: Session, options: WorkerOptions): Promise<number> {
  const say = (message: WorkerMessage) => session.out(encodeMessage(message));
  const claim = options.lock ? workerClaim(session) : undefined;
  say({ type: "ready", worker: options.index });
  await options.start();

  for (let round = 1; round <= options.rounds; round++) {
    const asked = session.world.now();
    let held: { lockId: string; fence: number } | undefined;
    if (claim !== undefined) {
      const outcome = await acquireOrWait(
        session,
        { name: DEMO_LOCK, kind: "guard", claim },
        { wait: true, quiet: true },
      );
      held = outcome.lock;
    }
    const enterMs = session.world.now();

    // Deliberately not atomic: read, pause, write. Two workers doing this at once both read the
    // same value, and one of the two updates is lost. Only the lock keeps them apart.
    const before = readCounter(options.dir);
    await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    Deno.writeTextFileSync(counterPath(options.dir), `${before + 1}\n`);

    const report: Round = {
      worker: options.index,
      round,
      fence: held?.fence ?? null,
      before,
      after: before + 1,
      waitedMs: enterMs - asked,
      enterMs,
      leaveMs: session.world.now(),
    };
    say({ type: "round", round: report });

    if (held !== undefined) {
      const locks = await session.locks();
      const released = await locks.release({
        name: DEMO_LOCK,
        mode: "owner",
        lockId: held.lockId,
        claim: claim!,
      });
      if (released.kind !== "released") {
        session.err(`worker ${options.index}: lost the lock "${DEMO_LOCK}" (${released.kind})\n`);
        return 1;
      }
    }
  }
  say({ type: "done", worker: options.index });
  return 0;
}
