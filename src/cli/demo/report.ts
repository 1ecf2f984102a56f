/**
 * The demo's vocabulary and its words: the messages workers send the coordinator (one JSON line
 * each), and the text the coordinator prints from them. Pure: no I/O.
 */

import type { LoggedEvent } from "../../audit/event.ts";
import { RUN_ARGS } from "../../run_flags.ts";

/** The lock every demo worker takes. */
export const DEMO_LOCK = "demo";

/** Environment variables that turn `lokt demo` into one of its own workers. */
export const WORKER_ENV = { index: "LOKT_DEMO_WORKER", dir: "LOKT_DEMO_DIR" } as const;

/** One update of the counter by one worker. Times are epoch milliseconds. */
export interface Round {
  worker: number;
  round: number;
  /** The fence of the lock held during the update; null without the lock. */
  fence: number | null;
  /** The value read, and the value written. */
  before: number;
  after: number;
  /** How long the worker waited for the lock. */
  waitedMs: number;
  /** From just after taking the lock (or before reading) to just after writing. */
  enterMs: number;
  leaveMs: number;
}

/** What a worker says, one JSON line on its stdout each. */
export type WorkerMessage =
  | { type: "ready"; worker: number }
  | { type: "round"; round: Round }
  | { type: "done"; worker: number };

/** One line of the worker protocol. */
export function encodeMessage(message: WorkerMessage): string {
  return JSON.stringify(message) + "\n";
}

/** Parses one line of a worker's stdout; undefined for anything else. */
export function decodeMessage(line: string): WorkerMessage | undefined {
  try {
    const value = JSON.parse(line);
    if (typeof value !== "object" || value === null) return undefined;
    if ((value.type === "ready" || value.type === "done") && typeof value.worker === "number") {
      return value;
    }
    if (value.type === "round" && typeof value.round?.worker === "number") return value;
  } catch {
    return undefined;
  }
  return undefined;
}

/** How to start this same program again: the program and its leading arguments. */
export interface SelfCommand {
  program: string;
  args: string[];
}

/**
 * The command line that runs lokt again. A `deno compile`d binary is lokt itself; otherwise
 * the Deno executable runs the main module (a local `main.ts`, or `jsr:` / https URL) with lokt's
 * V8 flags (src/run_flags.ts).
 */
export function selfCommand(
  facts: { execPath: string; mainModule: string; standalone: boolean },
): SelfCommand {
  if (facts.standalone) return { program: facts.execPath, args: [] };
  return { program: facts.execPath, args: [...RUN_ARGS, facts.mainModule] };
}

/** `+1.234s`: time since the start of the demo. */
export function since(startMs: number, atMs: number): string {
  return `+${(Math.max(0, atMs - startMs) / 1000).toFixed(3)}s`;
}

/** The live line for one update; `lost` marks a write that repeated an earlier value. */
export function roundLine(startMs: number, round: Round, lost: boolean): string {
  const who = `[worker ${round.worker}]`;
  const update = `counter ${round.before} -> ${round.after}`;
  const what = round.fence === null
    ? `no lock, ${update}`
    : `got the lock (fence ${round.fence}${
      round.waitedMs >= 1 ? `, waited ${Math.round(round.waitedMs)}ms` : ""
    }), ${update}`;
  const mark = lost ? `   <- ${round.after} was already written: an update is lost` : "";
  // Locked: when the worker got in. Unlocked: when it wrote, the order the lines arrive in.
  const at = round.fence === null ? round.leaveMs : round.enterMs;
  return `  ${since(startMs, at)}  ${who} ${what}${mark}`;
}

/**
 * Pairs of updates that were in progress at the same time. With the lock there must be none:
 * each worker took the lock after the previous one wrote and before it released.
 */
export function overlaps(rounds: readonly Round[]): number {
  const sorted = [...rounds].sort((a, b) => a.enterMs - b.enterMs);
  let count = 0;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].enterMs < sorted[i].leaveMs; j++) {
      if (sorted[j].worker !== sorted[i].worker) count++;
    }
  }
  return count;
}

/** The verdict on the counter. */
export type Outcome =
  | { kind: "correct"; expected: number }
  | { kind: "lost"; expected: number; actual: number };

/** Compares the final counter with the number of updates made. Pure. */
export function outcomeOf(expected: number, actual: number): Outcome {
  return actual === expected ? { kind: "correct", expected } : { kind: "lost", expected, actual };
}

/** The result lines. */
export function outcomeLines(outcome: Outcome, locked: boolean, overlapCount: number): string[] {
  const together = overlapCount === 0
    ? "no two updates ever overlapped"
    : `${overlapCount} time(s) two workers were updating at once`;
  switch (outcome.kind) {
    case "correct":
      return [
        `correct: ${outcome.expected} of ${outcome.expected} updates counted, counter is ${outcome.expected}`,
        locked
          ? `  the lock let one worker in at a time: ${together}`
          : `  lucky: ${together}; run it again to see updates get lost`,
      ];
    case "lost":
      return [
        `LOST UPDATES: counter is ${outcome.actual}, expected ${outcome.expected} - this is what lokt prevents`,
        `  ${outcome.expected - outcome.actual} update(s) overwritten: ${together}`,
      ];
  }
}

/** One audit event, for the trail printed at the end. */
export function auditLine(startMs: number, event: LoggedEvent): string {
  const record = event.record;
  const agent = typeof record.agent_id === "string" ? record.agent_id : "";
  const who = agent.startsWith("demo-worker-") ? `worker ${agent.slice(12)}` : agent || "?";
  const fence = typeof record.fence === "number" && record.fence > 0 ? `fence ${record.fence}` : "";
  const extra = record.extra as Record<string, unknown> | undefined;
  const note = typeof extra?.queued_ahead === "number"
    ? `${extra.queued_ahead} ahead in the queue`
    : typeof extra?.holder_agent_id === "string" && extra.holder_agent_id.startsWith("demo-worker-")
    ? `held by worker ${extra.holder_agent_id.slice(12)}`
    : "";
  return `  ${since(startMs, event.tsMs)}  ${event.event.padEnd(8)} ${event.name}  ${
    who.padEnd(9)
  } ${[fence, note].filter((s) => s !== "").join(", ")}`.trimEnd();
}

/** `12 acquire, 12 release, 9 wait`: how many events of each kind, most frequent first. */
export function eventCounts(events: readonly LoggedEvent[]): string {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.event, (counts.get(event.event) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${n} ${name}`).join(", ");
}
