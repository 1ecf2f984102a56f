/**
 * Release and break: remove a record only after checking, under the name's kernel lock, that it
 * is the one the caller may remove (its own, a stale one, or anything with force). A name left
 * unused is reclaimed in the same critical section (`reclaim.ts`).
 */

import { UnsupportedVersionError } from "../errors.ts";
import { refuseLinkedDirs } from "../nofollow.ts";
import type { EventName } from "../audit/event.ts";
import { judgeNow, type LockContext } from "./context.ts";
import { type Claim, holds, sameHolder } from "./holder.ts";
import { lockPath, recordPath } from "./layout.ts";
import { readSeats, type Seat, slottedNames } from "./slots.ts";
import type { LockRecord } from "./lockfile.ts";
import { withNameMutexThenReclaim } from "./reclaim.ts";
import { assertValidName, nameProblem } from "./name.ts";
import type { Verdict } from "./stale.ts";
import {
  isAbandoned,
  readRecord,
  type RecordState,
  removeRecord,
  type UnreadableState,
} from "./store.ts";
import { haltPoint } from "../testing/halt.ts";

/** `owner`: release your own; `break-stale`: remove only if stale; `force`: remove anything. */
export type ReleaseMode = "owner" | "break-stale" | "force";

/** A release or break. */
export interface ReleaseRequest {
  name: string;
  mode: ReleaseMode;
  claim: Claim;
  /** Release exactly this hold (guards, library handles): nothing else is touched. */
  lockId?: string;
  /**
   * With `lockId`: the hold's slot and the name's N, when it has slots (where its file is; without
   * them the hold is looked for among the name's files).
   */
  slot?: number;
  /** With `lockId`: the name's N, when the hold has a slot. */
  slots?: number;
  /** `LOKT_LOCK_ID` inherited from an enclosing guard. */
  enclosingLockId?: string;
}

/** What a release did. */
export type ReleaseOutcome =
  | { kind: "released"; lock: LockRecord }
  /**
   * A break. On a name with slots, `lock` is the first record removed and `count` how many were
   * (a forced break removes every holder; `--break-stale` every stale one).
   */
  | {
    kind: "broken";
    how: "force" | "stale";
    lock: LockRecord;
    verdict: Verdict;
    count?: number;
  }
  | { kind: "removed-unreadable"; problem: string }
  | { kind: "nested"; lock: LockRecord }
  | { kind: "not-found" }
  | { kind: "not-owner"; lock: LockRecord; verdict: Verdict }
  | { kind: "not-stale"; lock: LockRecord; verdict: Verdict }
  | { kind: "unreadable"; state: UnreadableState }
  /** A `lockId` release found another record, or none: the hold was lost. */
  | { kind: "gone"; current: RecordState };

/** Releases or breaks `req.name`, then reclaims the name if that left it unused. */
export function release(ctx: LockContext, req: ReleaseRequest): Promise<ReleaseOutcome> {
  assertValidName(req.name);
  return withNameMutexThenReclaim(ctx.layout, req.name, () => releaseHeld(ctx, req));
}

type Audit = (event: EventName, lock?: LockRecord, extra?: Record<string, unknown>) => void;

function auditFor(ctx: LockContext, name: string, path: string): Audit {
  return (event, lock, extra) => {
    haltPoint("release.removed", path);
    const slotted = lock?.slots !== undefined && lock.slots > 1
      ? { slot: lock.slot, slots: lock.slots }
      : {};
    ctx.audit.append({
      ts: ctx.now(),
      event,
      name,
      actor: ctx.actor,
      lockId: lock?.lockId,
      ttlMs: lock?.ttlMs,
      fence: lock?.fence,
      extra: { ...extra, ...slotted },
    });
  };
}

function releaseHeld(ctx: LockContext, req: ReleaseRequest): ReleaseOutcome {
  if (req.lockId === undefined) {
    const seats = readSeats(ctx.layout, req.name, ctx.now());
    if (seats.some((seat) => !seat.plain)) return releaseSlotted(ctx, req, seats);
  }
  const path = req.lockId === undefined
    ? lockPath(ctx.layout, req.name)
    : req.slot !== undefined
    ? recordPath(ctx.layout, { name: req.name, slot: req.slot, slots: req.slots })
    : seatOf(ctx, req.name, req.lockId);
  const state = readRecord(path, ctx.now());
  const audit = auditFor(ctx, req.name, path);

  if (req.lockId !== undefined) {
    if (state.kind !== "ok" || state.lock.lockId !== req.lockId) {
      return { kind: "gone", current: state };
    }
    removeRecord(path);
    audit("release", state.lock);
    return { kind: "released", lock: state.lock };
  }

  switch (state.kind) {
    case "absent":
      return { kind: "not-found" };
    case "unsupported":
      if (req.mode !== "force") throw new UnsupportedVersionError(path, state.version);
      removeRecord(path);
      audit("force-break", undefined, { unsupported_version: state.version });
      return { kind: "removed-unreadable", problem: `format version ${state.version}` };
    case "empty":
    case "corrupt":
      if (req.mode === "force" || (req.mode === "break-stale" && isAbandoned(state))) {
        removeRecord(path);
        audit("corrupt-break", undefined, { problem: state.problem, mode: req.mode });
        return { kind: "removed-unreadable", problem: state.problem };
      }
      return { kind: "unreadable", state };
    case "ok":
      return releaseRecord(ctx, req, path, state.lock, audit);
  }
}

/** Where the hold `lockId` of `name` is, when the caller did not say its slot. */
function seatOf(ctx: LockContext, name: string, lockId: string): string {
  const seats = readSeats(ctx.layout, name, ctx.now());
  const mine = seats.find((seat) => seat.state.kind === "ok" && seat.state.lock.lockId === lockId);
  return mine?.path ?? lockPath(ctx.layout, name);
}

function releaseRecord(
  ctx: LockContext,
  req: ReleaseRequest,
  path: string,
  lock: LockRecord,
  audit: Audit,
): ReleaseOutcome {
  if (req.enclosingLockId !== undefined && lock.lockId === req.enclosingLockId) {
    return { kind: "nested", lock }; // the enclosing guard releases it when its command ends
  }
  const verdict = judgeNow(ctx, lock);
  const holderExtra = {
    holder_owner: lock.owner,
    holder_host: lock.host,
    holder_pid: lock.pid,
    holder_agent_id: lock.agentId,
    verdict: verdict.reason,
  };
  switch (req.mode) {
    case "owner": {
      const flaggedAlive = lock.pidSource === "flag" && verdict.pidState !== "dead";
      if (!holds(lock, req.claim, flaggedAlive)) return { kind: "not-owner", lock, verdict };
      removeRecord(path);
      audit("release", lock);
      return { kind: "released", lock };
    }
    case "break-stale":
      if (verdict.kind !== "stale") return { kind: "not-stale", lock, verdict };
      removeRecord(path);
      audit("stale-break", lock, holderExtra);
      return { kind: "broken", how: "stale", lock, verdict };
    case "force":
      removeRecord(path);
      audit("force-break", lock, holderExtra);
      return { kind: "broken", how: "force", lock, verdict };
  }
}

/**
 * Release or break on a name with slot files (N of 2 or more, perhaps with a plain lock file
 * of a dead holder beside them). By holder: the one seat the caller holds (a holder re-enters
 * its own slot, so it has at most one). `--break-stale`: every stale seat, and unreadable ones
 * past their grace period. `--force`: every seat.
 */
function releaseSlotted(ctx: LockContext, req: ReleaseRequest, seats: Seat[]): ReleaseOutcome {
  for (const seat of seats) {
    if (seat.state.kind === "unsupported" && req.mode !== "force") {
      throw new UnsupportedVersionError(seat.path, seat.state.version);
    }
    if (
      seat.state.kind === "ok" && req.enclosingLockId !== undefined &&
      seat.state.lock.lockId === req.enclosingLockId
    ) {
      return { kind: "nested", lock: seat.state.lock };
    }
  }
  const records = seats.flatMap((seat) =>
    seat.state.kind === "ok"
      ? [{ seat, lock: seat.state.lock, verdict: judgeNow(ctx, seat.state.lock) }]
      : []
  );
  switch (req.mode) {
    case "owner": {
      for (const { seat, lock, verdict } of records) {
        const flaggedAlive = lock.pidSource === "flag" && verdict.pidState !== "dead";
        if (!holds(lock, req.claim, flaggedAlive)) continue;
        return releaseRecord(ctx, req, seat.path, lock, auditFor(ctx, req.name, seat.path));
      }
      const other = records.find((r) => r.verdict.kind === "live") ?? records[0];
      if (other !== undefined) {
        return { kind: "not-owner", lock: other.lock, verdict: other.verdict };
      }
      const unreadable = seats.find((seat) => seat.state.kind !== "absent");
      if (unreadable?.state.kind === "empty" || unreadable?.state.kind === "corrupt") {
        return { kind: "unreadable", state: unreadable.state };
      }
      return { kind: "not-found" };
    }
    case "break-stale":
    case "force": {
      const force = req.mode === "force";
      let first: { lock: LockRecord; verdict: Verdict } | undefined;
      let count = 0;
      let unreadableRemoved: string | undefined;
      for (const seat of seats) {
        const audit = auditFor(ctx, req.name, seat.path);
        const state = seat.state;
        if (state.kind === "ok") {
          const verdict = judgeNow(ctx, state.lock);
          if (!force && verdict.kind !== "stale") continue;
          removeRecord(seat.path);
          audit(force ? "force-break" : "stale-break", state.lock, {
            holder_owner: state.lock.owner,
            holder_host: state.lock.host,
            holder_pid: state.lock.pid,
            holder_agent_id: state.lock.agentId,
            verdict: verdict.reason,
          });
          first ??= { lock: state.lock, verdict };
          count++;
        } else if (state.kind === "empty" || state.kind === "corrupt") {
          if (!force && !isAbandoned(state)) continue;
          removeRecord(seat.path);
          audit("corrupt-break", undefined, { problem: state.problem, mode: req.mode });
          unreadableRemoved ??= state.problem;
        } else if (state.kind === "unsupported") {
          removeRecord(seat.path);
          audit("force-break", undefined, { unsupported_version: state.version });
          unreadableRemoved ??= `format version ${state.version}`;
        }
      }
      if (first !== undefined) {
        return { kind: "broken", how: force ? "force" : "stale", ...first, count };
      }
      if (unreadableRemoved !== undefined) {
        return { kind: "removed-unreadable", problem: unreadableRemoved };
      }
      const live = records.find((r) => r.verdict.kind === "live") ?? records[0];
      if (live !== undefined) return { kind: "not-stale", lock: live.lock, verdict: live.verdict };
      const unreadable = seats.find((seat) => seat.state.kind !== "absent");
      if (unreadable?.state.kind === "empty" || unreadable?.state.kind === "corrupt") {
        return { kind: "unreadable", state: unreadable.state };
      }
      return { kind: "not-found" };
    }
  }
}

/** Lists the valid names that have a file in `locks/`, sorted; symbolic links are not files. */
export function lockNames(ctx: LockContext): string[] {
  refuseLinkedDirs([ctx.layout.locks]);
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(ctx.layout.locks)) {
      if (entry.isSymlink) continue;
      const name = entry.name.slice(0, -".json".length);
      if (entry.name.endsWith(".json") && nameProblem(name) === undefined) names.push(name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/**
 * Releases every plain lock `claim` holds (`unlock --all`), each under its own kernel lock, and
 * returns what was released.
 */
export async function releaseAll(ctx: LockContext, claim: Claim): Promise<LockRecord[]> {
  const released: LockRecord[] = [];
  const names = [...new Set([...lockNames(ctx), ...slottedNames(ctx.layout)])].sort();
  for (const name of names) {
    const mine = readSeats(ctx.layout, name, ctx.now()).some((seat) =>
      seat.state.kind === "ok" && seat.state.lock.kind === "lock" &&
      sameHolder(seat.state.lock, claim)
    );
    if (!mine) continue;
    const outcome = await release(ctx, { name, mode: "owner", claim });
    if (outcome.kind === "released") released.push(outcome.lock);
  }
  return released;
}
