/**
 * One acquisition attempt: under the name's kernel lock, look at the freeze, the current record
 * and the queue, then take the name, re-enter it, pass through, or report what blocks.
 */

import { UnsupportedVersionError } from "../errors.ts";
import type { EventName } from "../audit/event.ts";
import { judgeNow, type LockContext, newLockId } from "./context.ts";
import { freezeState } from "./freeze.ts";
import { type Claim, holds } from "./holder.ts";
import { lockPath } from "./layout.ts";
import type { LockKind, LockRecord } from "./lockfile.ts";
import { type NameMutex, withNameMutex } from "./mutex.ts";
import { assertValidName } from "./name.ts";
import { leaveQueue, type Ticket, waitersAhead } from "./queue.ts";
import { haltPoint } from "../testing/halt.ts";
import { sweepLeftovers } from "./leftovers.ts";
import type { Verdict } from "./stale.ts";
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
  | { kind: "held"; blocker: Blocker }
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
}

/** Tries once to acquire `req.name`. */
export function tryAcquire(ctx: LockContext, req: AcquireRequest): Promise<AcquireOutcome> {
  assertValidName(req.name);
  sweepLeftovers(ctx); // once per ctx: what killed lokt processes left in tmp/
  return withNameMutex(ctx.layout, req.name, (mutex) => attempt(ctx, req, mutex));
}

function attempt(ctx: LockContext, req: AcquireRequest, mutex: NameMutex): AcquireOutcome {
  const path = lockPath(ctx.layout, req.name);
  const state = readRecord(path, ctx.now());
  if (state.kind === "unsupported") throw new UnsupportedVersionError(path, state.version);

  if (state.kind === "ok") {
    if (req.enclosingLockId !== undefined && state.lock.lockId === req.enclosingLockId) {
      return { kind: "nested", lock: state.lock };
    }
    if (req.kind === "lock" && holdsNow(ctx, state.lock, req.claim)) {
      return reenter(ctx, req, path, state.lock);
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

  const replaced = replaceable(ctx, state);
  if (replaced === "blocked") {
    const blocker = blockerOf(ctx, state);
    if (req.denyEvent) record(ctx, req, req.denyEvent, undefined, holderExtra(blocker));
    return { kind: "held", blocker };
  }

  const ahead = waitersAhead(ctx, req.name, req.ticket?.seq);
  if (ahead.length > 0) {
    if (req.denyEvent) {
      record(ctx, req, req.denyEvent, undefined, { queued_ahead: ahead.length });
    }
    return { kind: "queued", ahead };
  }

  return take(ctx, req, mutex, path, state, replaced);
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

function take(
  ctx: LockContext,
  req: AcquireRequest,
  mutex: NameMutex,
  path: string,
  state: RecordState,
  replaced: Replaced | undefined,
): AcquireOutcome {
  // The fence must exceed every fence ever handed out for this name, and is on disk before any
  // record carrying it can be seen.
  if (replaced !== undefined) haltPoint("acquire.takeover.judged", path);
  const previousFence = state.kind === "ok" ? state.lock.fence : 0;
  const fence = Math.max(mutex.readFence(), previousFence) + 1;
  mutex.writeFence(fence);

  if (replaced !== undefined) {
    removeRecord(path);
    if (replaced.kind === "stale") {
      record(ctx, req, "auto-prune", replaced.lock, {
        reason: replaced.verdict.reason,
        ...holderExtra({ kind: "lock", lock: replaced.lock, verdict: replaced.verdict }),
      });
    } else {
      record(ctx, req, "corrupt-break", undefined, { problem: replaced.state.problem });
    }
  }

  const now = ctx.now();
  const machine = ctx.probe.machine();
  const proc = req.claim.process;
  const lock: LockRecord = {
    name: req.name,
    lockId: newLockId(),
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
    acquiredMs: now,
    ttlMs: req.ttlMs,
    expiresMs: req.ttlMs === undefined ? undefined : now + req.ttlMs,
    fence,
  };
  // Every writer of this name holds the kernel lock, so the name is free here; link still
  // refuses to overwrite a file created by something outside the protocol.
  if (!publishNew(ctx, path, lock)) {
    return { kind: "held", blocker: blockerOf(ctx, readRecord(path, ctx.now())) };
  }
  haltPoint("acquire.published", path);
  if (req.ticket !== undefined) leaveQueue(req.ticket);
  record(ctx, req, "acquire", lock, replaced ? { took_over: true } : undefined);
  return { kind: "acquired", lock, replaced };
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
  record(ctx, req, "renew", lock, { reentry: true });
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
