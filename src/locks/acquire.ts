/**
 * One acquisition attempt: under the name's kernel lock, look at the freeze, the current record
 * and the queue, then take the name, re-enter it, pass through, or report what blocks.
 */

import { UnsupportedVersionError } from "../errors.ts";
import type { EventName } from "../audit/event.ts";
import { judgeNow, type LockContext, newLockId } from "./context.ts";
import { freezeState } from "./freeze.ts";
import { type Claim, holds } from "./holder.ts";
import { lockPath, slotPath } from "./layout.ts";
import type { LockKind, LockRecord } from "./lockfile.ts";
import { type NameMutex, withNameMutex } from "./mutex.ts";
import { assertValidName } from "./name.ts";
import { leaveQueue, type Ticket, waitersAhead } from "./queue.ts";
import { haltPoint } from "../testing/halt.ts";
import { sweepLeftovers } from "./leftovers.ts";
import type { Verdict } from "./stale.ts";
import { ensureSlotDir, readSeats, type Seat, seatSlots } from "./slots.ts";
import { SlotsMismatchError } from "./errors.ts";
import { sabotaged } from "../testing/sabotage.ts";
import {
  isAbandoned,
  publishNew,
  readRecord,
  type RecordState,
  removeRecord,
  replaceRecord,
  type UnreadableState,
} from "./store.ts";

/** What stands in the way of an acquisition. */
export type Blocker =
  | { kind: "lock"; lock: LockRecord; verdict: Verdict }
  | { kind: "unreadable"; state: UnreadableState };

/** What an acquisition replaced: a stale record or an abandoned unreadable file. */
export type Replaced =
  | { kind: "stale"; lock: LockRecord; verdict: Verdict }
  | { kind: "unreadable"; state: UnreadableState };

/** The result of one attempt. */
export type AcquireOutcome =
  /** A new hold: the name was free, or a stale record was taken over. */
  | { kind: "acquired"; lock: LockRecord; replaced?: Replaced }
  /** The same holder took its own plain lock again: TTL refreshed, same fence. */
  | { kind: "reentered"; lock: LockRecord }
  /** The caller runs inside the guard that holds the name (`LOKT_LOCK_ID` matches). */
  | { kind: "nested"; lock: LockRecord }
  /**
   * Every slot is taken: `blocker` is the holder of the lowest slot, `holders` how many hold the
   * name (1 for a plain lock), `slots` its N.
   */
  | { kind: "held"; blocker: Blocker; holders?: number; slots?: number }
  | { kind: "frozen"; freeze: LockRecord | undefined; unreadable?: UnreadableState }
  /** The name is free, but waiters queued earlier have the next turn. */
  | { kind: "queued"; ahead: Ticket[] };

/** Outcomes of an attempt that leave the caller holding the name. */
export type HeldOutcome = Extract<AcquireOutcome, { kind: "acquired" | "reentered" | "nested" }>;
/** Outcomes that leave the name to someone else (a waiter keeps waiting). */
export type BlockedOutcome = Exclude<AcquireOutcome, HeldOutcome>;

/** True when the attempt left the caller holding the name. */
export function isHold(outcome: AcquireOutcome): outcome is HeldOutcome {
  return outcome.kind === "acquired" || outcome.kind === "reentered" || outcome.kind === "nested";
}

/** One attempt to take a name. */
export interface AcquireRequest {
  name: string;
  /** `"lock"` for plain locks; `"guard"` for holders that live in one process. */
  kind: Exclude<LockKind, "freeze">;
  claim: Claim;
  ttlMs?: number;
  /** The guarded command, recorded for people (guard only). */
  command?: string[];
  /** The MCP client a `lokt mcp` holder serves (`name/version`), recorded for people. */
  client?: string;
  /** `LOKT_LOCK_ID` inherited from an enclosing guard. */
  enclosingLockId?: string;
  /** The caller's queue ticket, when it is waiting. */
  ticket?: Ticket;
  /** Event to record when blocked (`"deny"`, `"wait"` for a wait's first attempt), or none. */
  denyEvent?: Extract<EventName, "deny" | "wait"> | null;
  /**
   * How many holders the name admits (its N, 1 to `MAX_SLOTS`); 1 or undefined is the plain
   * lock. It must match the N of the name's live holders (`SlotsMismatchError`).
   */
  slots?: number;
}

/** Tries once to acquire `req.name`. */
export function tryAcquire(ctx: LockContext, req: AcquireRequest): Promise<AcquireOutcome> {
  assertValidName(req.name);
  sweepLeftovers(ctx); // once per ctx: what killed lokt processes left in tmp/
  // The race tests' negative control only: a slotted attempt without the name's critical section.
  const unlocked = (req.slots ?? 1) > 1 && sabotaged("slots-unlocked");
  return withNameMutex(ctx.layout, req.name, (mutex) => attempt(ctx, req, mutex), { unlocked });
}

function attempt(ctx: LockContext, req: AcquireRequest, mutex: NameMutex): AcquireOutcome {
  const want = req.slots ?? 1;
  // Every holder's file, plain and slotted, read under the name's kernel lock: nothing else
  // that follows the protocol changes any of them until this step ends.
  const seats = readSeats(ctx.layout, req.name, ctx.now());
  for (const seat of seats) {
    if (seat.state.kind === "unsupported") {
      throw new UnsupportedVersionError(seat.path, seat.state.version);
    }
  }

  for (const seat of seats) {
    if (seat.state.kind !== "ok") continue;
    if (req.enclosingLockId !== undefined && seat.state.lock.lockId === req.enclosingLockId) {
      return { kind: "nested", lock: seat.state.lock };
    }
  }
  if (req.kind === "lock") {
    for (const seat of seats) {
      if (seat.state.kind !== "ok" || !holdsNow(ctx, seat.state.lock, req.claim)) continue;
      const n = seatSlots(seat);
      if (n !== want) {
        const holders = seats.filter((s) => s.state.kind !== "absent").length;
        throw new SlotsMismatchError(req.name, n, want, holders);
      }
      return reenter(ctx, req, seat.path, seat.state.lock);
    }
  }

  const frozen = freezeState(ctx, req.name, true);
  if (frozen.kind !== "none") {
    const freeze = frozen.kind === "active" ? frozen.freeze : undefined;
    if (req.denyEvent) {
      record(ctx, req, "freeze-deny", freeze, {
        freeze_owner: freeze?.owner ?? "",
        freeze_reason: freeze?.reason ?? "",
        waiting: req.denyEvent === "wait",
      });
    }
    return {
      kind: "frozen",
      freeze,
      unreadable: frozen.kind === "unreadable" ? frozen.state : undefined,
    };
  }

  // The seats of this N: the plain file for N = 1, slots 1..N otherwise.
  const ours = (seat: Seat) => want === 1 ? seat.plain : !seat.plain && seat.slot <= want;
  const judged = seats.map((seat) => ({ seat, replaced: replaceable(ctx, seat.state) }));
  const live = judged.filter((j) => j.replaced === "blocked");
  // One N at a time: a live holder of another N (or in a seat no holder of this N could have)
  // means the caller disagrees with the name's current holders.
  for (const { seat } of live) {
    const n = seatSlots(seat);
    if (!ours(seat) || (n !== undefined && n !== want)) {
      throw new SlotsMismatchError(req.name, n, want, live.length);
    }
  }

  const bySlot = new Map(judged.filter((j) => ours(j.seat)).map((j) => [j.seat.slot, j]));
  let slot: number | undefined;
  for (let k = 1; k <= want && slot === undefined; k++) {
    if (bySlot.get(k)?.replaced !== "blocked") slot = k;
  }
  if (slot === undefined) {
    const first = live.find((j) => ours(j.seat))!;
    const blocker = blockerOf(ctx, first.seat.state);
    if (req.denyEvent) {
      record(ctx, req, req.denyEvent, undefined, {
        ...holderExtra(blocker),
        ...slotExtra(want, undefined, live.length),
      });
    }
    return want === 1
      ? { kind: "held", blocker }
      : { kind: "held", blocker, holders: live.length, slots: want };
  }

  const ahead = waitersAhead(ctx, req.name, req.ticket?.seq);
  if (ahead.length > 0) {
    if (req.denyEvent) {
      record(ctx, req, req.denyEvent, undefined, {
        queued_ahead: ahead.length,
        ...slotExtra(want, undefined, live.length),
      });
    }
    return { kind: "queued", ahead };
  }

  const target = bySlot.get(slot);
  const replaced = target?.replaced === "blocked" ? undefined : target?.replaced;
  // Stale files of another N (a plain lock file left by a dead holder while the name now has
  // slots, or slot files beyond this N) go in the same step, so that a name keeps one N on disk.
  const leftovers = judged.filter((j) => j !== target && !ours(j.seat) && j.replaced !== "blocked");
  return take(ctx, req, mutex, { want, slot, seats, target: target?.seat, replaced, leftovers });
}

/** The `slot`/`slots` fields of an audit line on a name with N of 2 or more; none for plain. */
function slotExtra(want: number, slot?: number, holders?: number): Record<string, unknown> {
  if (want <= 1) return {};
  return {
    slots: want,
    ...(slot === undefined ? {} : { slot }),
    ...(holders === undefined ? {} : { holders }),
  };
}

/** Holder check, with the liveness of a `--pid` process looked up only when it matters. */
function holdsNow(ctx: LockContext, lock: LockRecord, claim: Claim): boolean {
  const flaggedAlive = lock.pidSource === "flag" && judgeNow(ctx, lock).pidState !== "dead";
  return holds(lock, claim, flaggedAlive);
}

/** Undefined when the name is free; the replaceable record; or "blocked". */
function replaceable(ctx: LockContext, state: RecordState): Replaced | undefined | "blocked" {
  switch (state.kind) {
    case "absent":
      return undefined;
    case "ok": {
      const verdict = judgeNow(ctx, state.lock);
      return verdict.kind === "stale" ? { kind: "stale", lock: state.lock, verdict } : "blocked";
    }
    case "empty":
    case "corrupt":
      return isAbandoned(state) ? { kind: "unreadable", state } : "blocked";
    case "unsupported":
      return "blocked";
  }
}

function blockerOf(ctx: LockContext, state: RecordState): Blocker {
  if (state.kind === "ok") {
    return { kind: "lock", lock: state.lock, verdict: judgeNow(ctx, state.lock) };
  }
  if (state.kind === "empty" || state.kind === "corrupt") return { kind: "unreadable", state };
  throw new Error(`no blocker in state ${state.kind}`);
}

function holderExtra(blocker: Blocker): Record<string, unknown> {
  if (blocker.kind === "unreadable") return { holder_unreadable: blocker.state.problem };
  const { lock } = blocker;
  return {
    holder_owner: lock.owner,
    holder_host: lock.host,
    holder_pid: lock.pid,
    holder_agent_id: lock.agentId,
    holder_lock_id: lock.lockId,
  };
}

/** What an attempt decided to take, and what it found on the way. */
interface Plan {
  /** The name's N. */
  want: number;
  /** The slot to take (1 for a plain lock). */
  slot: number;
  /** Every holder's file read in this critical section. */
  seats: Seat[];
  /** The file at the slot taken, if there is one (stale, or unreadable and abandoned). */
  target?: Seat;
  replaced?: Replaced;
  /** Removable files of another N, removed in the same step. */
  leftovers: { seat: Seat; replaced: Replaced | undefined | "blocked" }[];
}

/**
 * The record of a new hold of `req.name` taken at `nowMs` with `fence`: who holds it, which
 * process it follows, on which machine. Pure; the PostgreSQL backend builds its holds with it.
 */
export function holdRecord(
  req: Pick<AcquireRequest, "name" | "kind" | "claim" | "command" | "client" | "ttlMs">,
  machine: { bootId?: string; pidNs?: string },
  nowMs: number,
  fence: number,
  lockId: string,
): LockRecord {
  const proc = req.claim.process;
  return {
    name: req.name,
    lockId,
    kind: req.kind,
    owner: req.claim.owner,
    host: req.claim.host,
    agentId: req.claim.agentId,
    pid: proc?.pid ?? 0,
    pidStart: proc?.start,
    pidSource: proc?.source,
    bootId: machine.bootId,
    pidNs: machine.pidNs,
    command: req.command,
    client: req.client,
    acquiredMs: nowMs,
    ttlMs: req.ttlMs,
    expiresMs: req.ttlMs === undefined ? undefined : nowMs + req.ttlMs,
    fence,
  };
}

function take(
  ctx: LockContext,
  req: AcquireRequest,
  mutex: NameMutex,
  plan: Plan,
): AcquireOutcome {
  const { want, slot, replaced } = plan;
  const path = want === 1 ? lockPath(ctx.layout, req.name) : slotPath(ctx.layout, req.name, slot);
  // The fence must exceed every fence ever handed out for this name, and is on disk before any
  // record carrying it can be seen. Every holder's file is a lower bound too (a counter lost to
  // a power cut, a record written by hand).
  if (replaced !== undefined) haltPoint("acquire.takeover.judged", path);
  let previousFence = 0;
  for (const seat of plan.seats) {
    if (seat.state.kind === "ok") previousFence = Math.max(previousFence, seat.state.lock.fence);
  }
  const fence = Math.max(mutex.readFence(), previousFence) + 1;
  mutex.writeFence(fence);

  if (replaced !== undefined) {
    removeRecord(plan.target!.path);
    recordReplaced(ctx, req, replaced, slotExtra(want, slot));
  }
  for (const { seat, replaced: gone } of plan.leftovers) {
    if (gone === undefined || gone === "blocked") continue;
    removeRecord(seat.path);
    recordReplaced(ctx, req, gone, seat.plain ? {} : slotExtra(seatSlots(seat) ?? 0, seat.slot));
  }

  const lock: LockRecord = {
    ...holdRecord(req, ctx.probe.machine(), ctx.now(), fence, newLockId()),
    ...(want > 1 ? { slot, slots: want } : {}),
  };
  if (want > 1) ensureSlotDir(ctx.layout, req.name);
  // Every writer of this name holds the kernel lock, so the slot is free here; link still
  // refuses to overwrite a file created by something outside the protocol.
  if (!publishNew(ctx, path, lock)) {
    return { kind: "held", blocker: blockerOf(ctx, readRecord(path, ctx.now())) };
  }
  haltPoint("acquire.published", path);
  if (req.ticket !== undefined) leaveQueue(req.ticket);
  record(ctx, req, "acquire", lock, {
    ...(replaced ? { took_over: true } : {}),
    ...slotExtra(want, slot),
  });
  return { kind: "acquired", lock, replaced };
}

function recordReplaced(
  ctx: LockContext,
  req: AcquireRequest,
  replaced: Replaced,
  extra: Record<string, unknown>,
): void {
  if (replaced.kind === "stale") {
    record(ctx, req, "auto-prune", replaced.lock, {
      reason: replaced.verdict.reason,
      ...holderExtra({ kind: "lock", lock: replaced.lock, verdict: replaced.verdict }),
      ...extra,
    });
  } else {
    record(ctx, req, "corrupt-break", undefined, { problem: replaced.state.problem, ...extra });
  }
}

function reenter(
  ctx: LockContext,
  req: AcquireRequest,
  path: string,
  current: LockRecord,
): AcquireOutcome {
  const now = ctx.now();
  const ttlMs = req.ttlMs ?? current.ttlMs;
  const proc = req.claim.process;
  const lock: LockRecord = {
    ...current,
    pid: proc?.pid ?? current.pid,
    pidStart: proc ? proc.start : current.pidStart,
    pidSource: proc ? proc.source : current.pidSource,
    renewedMs: now,
    ttlMs,
    expiresMs: ttlMs === undefined ? undefined : now + ttlMs,
  };
  replaceRecord(ctx, path, lock);
  haltPoint("acquire.reentered", path);
  if (req.ticket !== undefined) leaveQueue(req.ticket);
  record(ctx, req, "renew", lock, { reentry: true, ...slotExtra(lock.slots ?? 1, lock.slot) });
  return { kind: "reentered", lock };
}

function record(
  ctx: LockContext,
  req: AcquireRequest,
  event: EventName,
  lock: LockRecord | undefined,
  extra?: Record<string, unknown>,
): void {
  ctx.audit.append({
    ts: ctx.now(),
    event,
    name: req.name,
    actor: ctx.actor,
    lockId: lock?.lockId,
    ttlMs: event === "acquire" || event === "renew" ? lock?.ttlMs : req.ttlMs,
    fence: lock?.fence,
    extra,
  });
}
