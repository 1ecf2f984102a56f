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
import { lockPath } from "./layout.ts";
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
  /** `LOKT_LOCK_ID` inherited from an enclosing guard. */
  enclosingLockId?: string;
}

/** What a release did. */
export type ReleaseOutcome =
  | { kind: "released"; lock: LockRecord }
  | { kind: "broken"; how: "force" | "stale"; lock: LockRecord; verdict: Verdict }
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

function releaseHeld(ctx: LockContext, req: ReleaseRequest): ReleaseOutcome {
  const path = lockPath(ctx.layout, req.name);
  const state = readRecord(path, ctx.now());
  const audit = (event: EventName, lock?: LockRecord, extra?: Record<string, unknown>) => {
    haltPoint("release.removed", path);
    ctx.audit.append({
      ts: ctx.now(),
      event,
      name: req.name,
      actor: ctx.actor,
      lockId: lock?.lockId,
      ttlMs: lock?.ttlMs,
      fence: lock?.fence,
      extra,
    });
  };

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

function releaseRecord(
  ctx: LockContext,
  req: ReleaseRequest,
  path: string,
  lock: LockRecord,
  audit: (event: EventName, lock?: LockRecord, extra?: Record<string, unknown>) => void,
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
  for (const name of lockNames(ctx)) {
    const state = readRecord(lockPath(ctx.layout, name), ctx.now());
    if (state.kind !== "ok" || state.lock.kind !== "lock") continue;
    if (!sameHolder(state.lock, claim)) continue;
    const outcome = await release(ctx, { name, mode: "owner", claim });
    if (outcome.kind === "released") released.push(outcome.lock);
  }
  return released;
}
