/**
 * Waiting for a name: queue up, then retry whenever the lock directories change (file-system
 * events), with jittered polling as the fallback and to notice holders that die without a trace.
 */

import type { LockContext } from "./context.ts";
import {
  type AcquireRequest,
  type BlockedOutcome,
  type HeldOutcome,
  isHold,
  tryAcquire,
} from "./acquire.ts";
import {
  ensureLayout,
  freezePath,
  lockPath,
  queueDir,
  refuseLinkedLayout,
  slotDir,
} from "./layout.ts";
import {
  beat,
  joinQueue,
  leaveQueue,
  queueDirOf,
  type Ticket,
  TICKET_HEARTBEAT_MS,
  ticketAhead,
  ticketHoldsTurn,
  waiterOf,
} from "./queue.ts";
import { rehearse } from "./rehearse.ts";
import { assertValidName } from "./name.ts";
import { withNameMutex } from "./mutex.ts";
import { Doorbell } from "../doorbell.ts";

/** The result of a wait. */
export type WaitOutcome =
  | HeldOutcome & { waitedMs: number }
  | { kind: "timeout"; last: BlockedOutcome; waitedMs: number }
  | { kind: "aborted"; last: BlockedOutcome; waitedMs: number };

/** How to wait. */
export interface WaitOptions {
  /** Give up after this long; undefined waits forever. */
  timeoutMs?: number;
  /** Aborting stops the wait; the ticket is removed. */
  signal?: AbortSignal;
  /** Use polling only (no file-system events). */
  noWatch?: boolean;
  /** Called after every blocked attempt, with how long the wait has lasted. */
  onBlocked?: (outcome: BlockedOutcome, waitedMs: number) => void;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * The first poll when polling is all there is. Polling delays grow by half each time from the
 * first to the cap, jittered by ±20%.
 */
export const POLL_MIN_MS = 10;
/** Poll cap when polling is all there is. */
export const POLL_CAP_UNWATCHED_MS = 200;
/**
 * The first poll when file-system events wake the waiter. Then polling only catches what makes
 * no event (a holder or a waiter ahead dying without a trace), and each poll costs a waiter as
 * much CPU as a look: starting at 10 ms, a 400 ms wait made eight of them.
 */
export const POLL_MIN_WATCHED_MS = 50;
/** Poll cap when file-system events wake the waiter. */
export const POLL_CAP_WATCHED_MS = 500;

/** The delay before poll number `n` (0-based), from `minMs` up to `capMs`. Pure. */
export function pollDelay(n: number, minMs: number, capMs: number, random: () => number): number {
  const base = Math.min(capMs, minMs * Math.pow(1.5, n));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}

/**
 * The paths under which file events may name `files`: as given, and under their directory's
 * physical path, since macOS reports events by real path (`/private/tmp/...` for a root under
 * `/tmp`). Pure: `realDir` resolves a directory, or returns undefined when it cannot.
 */
export function eventPaths(
  files: readonly string[],
  realDir: (dir: string) => string | undefined,
): Set<string> {
  const paths = new Set(files);
  for (const file of files) {
    const cut = file.lastIndexOf("/");
    const real = realDir(file.slice(0, cut));
    if (real !== undefined) paths.add(`${real}${file.slice(cut)}`);
  }
  return paths;
}

function isRealDir(path: string): boolean {
  try {
    return Deno.lstatSync(path).isDirectory;
  } catch {
    return false;
  }
}

function realDirOrUndefined(dir: string): string | undefined {
  try {
    return Deno.realPathSync(dir);
  } catch {
    return undefined; // not there yet: events will name it as given
  }
}

/** When the blocker will change by itself (a TTL or freeze running out), if it will. */
function selfExpiry(outcome: BlockedOutcome): number | undefined {
  if (outcome.kind === "frozen") return outcome.freeze?.expiresMs;
  if (outcome.kind === "held" && outcome.blocker.kind === "lock") {
    return outcome.blocker.lock.expiresMs;
  }
  return undefined;
}

/**
 * Acquires `req.name`, waiting as long as needed (or until `timeoutMs`). Waiters are served in
 * the order they joined the queue; the ticket is removed on every way out.
 */
export async function acquireWaiting(
  ctx: LockContext,
  req: AcquireRequest,
  options: WaitOptions = {},
): Promise<WaitOutcome> {
  assertValidName(req.name);
  const random = options.random ?? Math.random;
  const startedMs = ctx.now();
  const waited = () => ctx.now() - startedMs;
  const deadline = options.timeoutMs === undefined ? Infinity : startedMs + options.timeoutMs;

  refuseLinkedLayout(ctx.layout);
  ensureLayout(ctx.layout);
  // Only the path, refused if a link: the directory is created under the name's kernel lock when
  // this waiter joins (a reclaim removes an empty one under that lock at any time before).
  const queue = queueDirOf(ctx, req.name) ?? queueDir(ctx.layout, req.name);
  const ownFiles = eventPaths(
    [lockPath(ctx.layout, req.name), freezePath(ctx.layout, req.name)],
    realDirOrUndefined,
  );
  // A name with slots: its holders' files are in their own directory, watched when it exists
  // (it does while the name is held; polling covers the rest).
  const slots = (req.slots ?? 1) > 1 ? slotDir(ctx.layout, req.name) : undefined;
  const bell = new Doorbell(!options.noWatch);
  let ticket: Ticket | undefined;
  // Each waiter watches only the ticket just ahead of its own, so that a hand-off wakes one
  // process rather than the whole queue; the head of the queue (and a waiter not yet queued)
  // watches the name's lock and freeze files. The watch is always in place before the look it
  // guards, so no change between a look and the next wait goes unnoticed.
  let watched: string | undefined;
  const watchAhead = (): boolean => {
    const ahead = ticket === undefined ? "" : ticketAhead(queue, ticket.seq) ?? "";
    if (ahead !== watched) {
      watched = ahead;
      if (ahead === "") {
        const slotted = slots !== undefined && isRealDir(slots);
        bell.watch(
          slotted
            ? [ctx.layout.locks, ctx.layout.freezes, slots]
            : [ctx.layout.locks, ctx.layout.freezes],
          (event) => slotted || event.paths.some((p) => ownFiles.has(p)),
        );
      } else bell.watch([ahead], (event) => event.kind === "remove");
    }
    return ahead === "";
  };

  try {
    watchAhead();
    let outcome = await tryAcquire(ctx, { ...req, denyEvent: "wait" });
    let lastBeatMs = ctx.now();
    for (let poll = 0;; poll++) {
      if (isHold(outcome)) return { ...outcome, waitedMs: waited() };
      options.onBlocked?.(outcome, waited());
      if (ctx.now() >= deadline) {
        recordEnd(ctx, req, "timeout", waited());
        return { kind: "timeout", last: outcome, waitedMs: waited() };
      }
      if (options.signal?.aborted) return { kind: "aborted", last: outcome, waitedMs: waited() };
      ticket ??= await withNameMutex(
        ctx.layout,
        req.name,
        () => joinQueue(ctx, req.name, waiterOf(ctx, req.claim)),
      );
      watchAhead();
      // Once queued, warm the path from here to holding (a release meanwhile rings the bell).
      await rehearse(ctx, req);

      let delay = bell.watching
        ? pollDelay(poll, POLL_MIN_WATCHED_MS, POLL_CAP_WATCHED_MS, random)
        : pollDelay(poll, POLL_MIN_MS, POLL_CAP_UNWATCHED_MS, random);
      const expiry = selfExpiry(outcome);
      if (expiry !== undefined) delay = Math.min(delay, Math.max(1, expiry - ctx.now() + 1));
      delay = Math.min(delay, Math.max(1, deadline - ctx.now()), TICKET_HEARTBEAT_MS);
      await bell.wait(delay, options.signal);
      if (options.signal?.aborted) return { kind: "aborted", last: outcome, waitedMs: waited() };
      // The heartbeat is only refreshed when due (or when the clock was set back): each
      // refresh is a file-system event for the waiter behind.
      const sinceBeatMs = ctx.now() - lastBeatMs;
      if (sinceBeatMs >= TICKET_HEARTBEAT_MS / 2 || sinceBeatMs < 0) {
        lastBeatMs = ctx.now();
        if (!beat(ticket, lastBeatMs)) ticket = undefined; // removed under us: queue again
      }
      // Behind the head, on a ring (the ticket ahead left) or a poll, watch the ticket now
      // ahead and look only if it no longer holds its turn: a full look, under the name's
      // kernel lock, clears a dead waiter's ticket or passes over a stalled one. The queue
      // thus stays out of the lock, and the head gets it at once.
      if (ticket !== undefined && !watchAhead() && ticketHoldsTurn(ctx, watched!)) continue;
      outcome = await tryAcquire(ctx, { ...req, ticket, denyEvent: null });
    }
  } finally {
    if (ticket !== undefined) leaveQueue(ticket);
    bell.close();
  }
}

function recordEnd(
  ctx: LockContext,
  req: AcquireRequest,
  event: "timeout",
  waitedMs: number,
): void {
  ctx.audit.append({
    ts: ctx.now(),
    event,
    name: req.name,
    actor: ctx.actor,
    ttlMs: req.ttlMs,
    extra: { waited_ms: Math.round(waitedMs) },
  });
}
