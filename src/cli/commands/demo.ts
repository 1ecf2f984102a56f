/**
 * `lokt demo`: workers contending for one lock, live, in a temporary directory.
 *
 * The workers are lokt itself, run again with `LOKT_DEMO_WORKER` (its number) and
 * `LOKT_DEMO_DIR` (the demo's directory) in their environment: that makes `lokt demo` one worker
 * of a running demo instead of a new demo.
 */

import { UsageError } from "../../errors.ts";
import { expectPositionals } from "../args.ts";
import { WORKER_ENV } from "../demo/report.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

const DEFAULTS = { workers: 4, rounds: 3, delayMs: 20 };
const MAX = { workers: 32, rounds: 100, delayMs: 1000 };

function bounded(value: unknown, fallback: number, max: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (n < 1 || n > max) {
    throw new UsageError(`--${flag}: ${n} is out of range`, `use a value from 1 to ${max}`);
  }
  return n;
}

/** Runs `lokt demo`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("demo")!, args);
  const options = {
    workers: bounded(args.flags.workers, DEFAULTS.workers, MAX.workers, "workers"),
    rounds: bounded(args.flags.rounds, DEFAULTS.rounds, MAX.rounds, "rounds"),
    delayMs: bounded(args.flags.delay, DEFAULTS.delayMs, MAX.delayMs, "delay"),
    lock: args.flags["no-lock"] !== true,
  };
  const index = session.world.env(WORKER_ENV.index);
  const dir = session.world.env(WORKER_ENV.dir);
  if (index !== undefined && dir !== undefined) {
    const { runWorker, lineFromStdin } = await import("../demo/worker.ts");
    return runWorker(session, { ...options, index: Number(index), dir, start: lineFromStdin });
  }
  const { runDemo } = await import("../demo/coordinator.ts");
  return runDemo(session, options);
}
