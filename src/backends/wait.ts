/**
 * Waiting for a name over any {@link Backend}: first come, first served. The waiter starts
 * watching the name, takes a ticket, then tries again whenever the name changes, and at the
 * latest when a holder's lease runs out, when a holder judged by its process may have died, or
 * when its ticket's heartbeat is due.
 */

import type {
  AcquireRequest,
  AcquireResult,
  Backend,
  JudgedHolder,
  QueueTicket,
  Waiter,
} from "./backend.ts";
import { TICKET_HEARTBEAT_MS } from "../locks/queue.ts";

/** Outcomes that leave the caller holding a slot. */
export type HeldResult = Extract<AcquireResult, { kind: "acquired" | "reentered" | "nested" }>;

/** The result of a wait. */
export type WaitResult =
  | HeldResult
  | { kind: "timeout"; last: AcquireResult }
  | { kind: "aborted"; last: AcquireResult };

/** How to wait. */
export interface BackendWaitOptions {
  /** The waiting process, as its ticket shows it. */
  waiter: Waiter;
  /** Give up after this long; undefined waits forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The caller's monotonic clock, milliseconds (default `performance.now`). */
  clock?: () => number;
  /** Called after every attempt that left the caller waiting. */
  onBlocked?: (last: AcquireResult) => void;
  /** Called right before every attempt (a lease runs from the successful one's sending). */
  onAttempt?: () => void;
}

/** Retry at least this often while a holder is judged by a process that may die unseen. */
export const PROCESS_POLL_MS = 250;

/** True when the result leaves the caller holding a slot. */
export function isHeld(result: AcquireResult | WaitResult): result is HeldResult {
  return result.kind === "acquired" || result.kind === "reentered" || result.kind === "nested";
}

/**
 * How long to sleep before the next attempt when no notification comes: until the first live
 * lease runs out (on the backend's clock), sooner for holders whose process may die without a
 * notification, and never past the next heartbeat. Pure.
 */
export function nextPollMs(holders: JudgedHolder[], nowMs: number): number {
  let delay = TICKET_HEARTBEAT_MS;
  for (const { record, verdict } of holders) {
    if (verdict.kind !== "live") continue;
    if (verdict.scope !== "remote" && record.pid > 0) delay = Math.min(delay, PROCESS_POLL_MS);
    if (record.expiresMs !== undefined) {
      delay = Math.min(delay, Math.max(1, record.expiresMs - nowMs + 1));
    }
  }
  return delay;
}

/** Takes `req.name`, waiting in line as `options` say. The ticket is always removed. */
export async function acquireWaiting(
  backend: Backend,
  req: AcquireRequest,
  options: BackendWaitOptions,
): Promise<WaitResult> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  using watch = await backend.watch(req.name);
  let ticket: QueueTicket | undefined;
  try {
    options.onAttempt?.();
    let last = await backend.acquire({ ...req, denyEvent: "wait" });
    if (isHeld(last)) return last;
    options.onBlocked?.(last);
    ticket = await backend.joinQueue(req.name, options.waiter);
    let beatAt = clock() + TICKET_HEARTBEAT_MS;
    while (true) {
      const waitedMs = clock() - started;
      if (options.signal?.aborted) return { kind: "aborted", last };
      if (options.timeoutMs !== undefined && waitedMs >= options.timeoutMs) {
        return { kind: "timeout", last };
      }
      const polled = last.kind === "held" ? nextPollMs(last.holders, last.nowMs) : PROCESS_POLL_MS;
      let sleepMs = Math.min(polled, Math.max(0, beatAt - clock()));
      if (options.timeoutMs !== undefined) {
        sleepMs = Math.min(sleepMs, options.timeoutMs - waitedMs);
      }
      await watch.changed(sleepMs, options.signal);
      if (clock() >= beatAt) {
        if (!await backend.beat(req.name, ticket)) {
          // Judged dead and removed (a long stop): take a new place at the end.
          ticket = await backend.joinQueue(req.name, options.waiter);
        }
        beatAt = clock() + TICKET_HEARTBEAT_MS;
      }
      options.onAttempt?.();
      last = await backend.acquire({ ...req, ticket, denyEvent: null });
      if (isHeld(last)) {
        if (last.kind !== "nested") ticket = undefined; // the acquisition removed it
        return last;
      }
      options.onBlocked?.(last);
    }
  } finally {
    if (ticket !== undefined) await backend.leaveQueue(req.name, ticket).catch(() => {});
  }
}
