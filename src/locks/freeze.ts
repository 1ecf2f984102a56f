/**
 * Freezes: a switch that refuses every new acquisition of a name (`lock` and `guard`) until it
 * is lifted or its TTL runs out. Stored as `freezes/<name>.json` in the lock-file format.
 */

import { UnsupportedVersionError } from "../errors.ts";
import { type LockContext, newLockId } from "./context.ts";
import { freezePath } from "./layout.ts";
import type { LockRecord } from "./lockfile.ts";
import { withNameMutex } from "./mutex.ts";
import { assertValidName } from "./name.ts";
import { withNameMutexThenReclaim } from "./reclaim.ts";
import { isExpired } from "./stale.ts";
import {
  isAbandoned,
  publishNew,
  readRecord,
  removeRecord,
  replaceRecord,
  type UnreadableState,
} from "./store.ts";
import { haltPoint } from "../testing/halt.ts";

/** The freeze standing on a name, as acquisition sees it. */
export type FreezeState =
  | { kind: "none" }
  | { kind: "active"; freeze: LockRecord }
  | { kind: "unreadable"; state: UnreadableState };

/**
 * Reads the freeze on `name`. Expired freezes, and unreadable ones past the grace period, are
 * removed and recorded when `prune` is set (the caller holds the name's kernel lock); otherwise
 * they are reported as no freeze.
 */
export function freezeState(ctx: LockContext, name: string, prune: boolean): FreezeState {
  const path = freezePath(ctx.layout, name);
  const state = readRecord(path, ctx.now());
  switch (state.kind) {
    case "absent":
      return { kind: "none" };
    case "unsupported":
      throw new UnsupportedVersionError(path, state.version);
    case "empty":
    case "corrupt":
      if (!isAbandoned(state)) return { kind: "unreadable", state };
      if (prune && removeRecord(path)) {
        ctx.audit.append({
          ts: ctx.now(),
          event: "corrupt-break",
          name,
          actor: ctx.actor,
          extra: { freeze: true, problem: state.problem },
        });
      }
      return { kind: "none" };
    case "ok":
      if (!isExpired(state.lock, ctx.now())) return { kind: "active", freeze: state.lock };
      if (prune && removeRecord(path)) {
        haltPoint("freeze.expired-removed", path);
        ctx.audit.append({
          ts: ctx.now(),
          event: "freeze-expire",
          name,
          actor: ctx.actor,
          lockId: state.lock.lockId,
          ttlMs: state.lock.ttlMs,
          extra: { freeze_owner: state.lock.owner },
        });
      }
      return { kind: "none" };
  }
}

/**
 * Removes the freeze on `name` if it has expired, or is unreadable and abandoned, under the name's
 * kernel lock (audited like any removal), then reclaims the name if that left it unused; true
 * when no freeze stands on the name afterwards.
 */
export function pruneFreeze(ctx: LockContext, name: string): Promise<boolean> {
  assertValidName(name);
  return withNameMutexThenReclaim(
    ctx.layout,
    name,
    () => freezeState(ctx, name, true).kind === "none",
  );
}

/** A freeze request. */
export interface FreezeRequest {
  name: string;
  owner: string;
  host: string;
  agentId: string;
  ttlMs: number;
  reason?: string;
}

/** What `freeze` did. */
export type FreezeOutcome =
  | { kind: "frozen"; freeze: LockRecord }
  | { kind: "extended"; freeze: LockRecord }
  | { kind: "held"; freeze: LockRecord }
  | { kind: "unreadable"; state: UnreadableState };

/**
 * The record a freeze publishes at `nowMs`: a new one, or the owner's `existing` freeze extended
 * (a new TTL; a new reason if given, else the one people were told). Pure; the PostgreSQL backend
 * builds its freezes with it too.
 */
export function freezeRecord(
  req: FreezeRequest,
  existing: LockRecord | undefined,
  nowMs: number,
): LockRecord {
  return {
    name: req.name,
    lockId: existing?.lockId ?? newLockId(),
    kind: "freeze",
    owner: req.owner,
    host: req.host,
    agentId: req.agentId,
    pid: 0,
    acquiredMs: existing?.acquiredMs ?? nowMs,
    renewedMs: existing === undefined ? undefined : nowMs,
    ttlMs: req.ttlMs,
    expiresMs: nowMs + req.ttlMs,
    fence: 0,
    reason: req.reason ?? existing?.reason,
  };
}

/**
 * Freezes `name`; the owner of an active freeze may extend it (new TTL; new reason if given, else
 * the old one).
 */
export function freeze(ctx: LockContext, req: FreezeRequest): Promise<FreezeOutcome> {
  assertValidName(req.name);
  return withNameMutex(ctx.layout, req.name, () => {
    const path = freezePath(ctx.layout, req.name);
    const current = freezeState(ctx, req.name, true);
    if (current.kind === "unreadable") return current;
    const now = ctx.now();
    const existing = current.kind === "active" ? current.freeze : undefined;
    if (existing !== undefined && existing.owner !== req.owner) {
      return { kind: "held", freeze: existing };
    }
    const record = freezeRecord(req, existing, now);
    if (existing !== undefined) {
      replaceRecord(ctx, path, record);
    } else if (!publishNew(ctx, path, record)) {
      // Only a writer outside the protocol can get here; let the caller see what it wrote.
      const raced = freezeState(ctx, req.name, false);
      if (raced.kind === "active") return { kind: "held", freeze: raced.freeze };
      if (raced.kind === "unreadable") return raced;
      replaceRecord(ctx, path, record);
    }
    haltPoint("freeze.published", path);
    ctx.audit.append({
      ts: now,
      event: "freeze",
      name: req.name,
      actor: ctx.actor,
      lockId: record.lockId,
      ttlMs: req.ttlMs,
      extra: { reason: record.reason ?? "", extended: existing !== undefined },
    });
    return { kind: existing === undefined ? "frozen" : "extended", freeze: record };
  });
}

/** An unfreeze request. */
export interface UnfreezeRequest {
  name: string;
  owner: string;
  /** Lift it whoever froze it, and remove an unreadable freeze file. */
  force: boolean;
  /** Why, recorded in the audit line (the MCP server requires one with `force`). */
  reason?: string;
}

/** What `unfreeze` did. */
export type UnfreezeOutcome =
  | { kind: "unfrozen"; freeze: LockRecord; forced: boolean }
  | { kind: "removed-unreadable"; state: UnreadableState }
  | { kind: "not-found" }
  | { kind: "not-owner"; freeze: LockRecord }
  | { kind: "unreadable"; state: UnreadableState };

function reasonOf(req: UnfreezeRequest): { reason?: string } {
  return req.reason === undefined ? {} : { reason: req.reason };
}

/**
 * Lifts the freeze on `name`: its owner may, anyone may with `force`. Then reclaims the name if
 * that left it unused.
 */
export function unfreeze(ctx: LockContext, req: UnfreezeRequest): Promise<UnfreezeOutcome> {
  assertValidName(req.name);
  return withNameMutexThenReclaim(ctx.layout, req.name, () => {
    const path = freezePath(ctx.layout, req.name);
    const state = readRecord(path, ctx.now());
    switch (state.kind) {
      case "absent":
        return { kind: "not-found" };
      case "unsupported":
        if (!req.force) throw new UnsupportedVersionError(path, state.version);
        removeRecord(path);
        ctx.audit.append({
          ts: ctx.now(),
          event: "force-unfreeze",
          name: req.name,
          actor: ctx.actor,
          extra: { unsupported_version: state.version, ...reasonOf(req) },
        });
        return {
          kind: "removed-unreadable",
          state: { kind: "corrupt", problem: `format version ${state.version}`, ageMs: 0 },
        };
      case "empty":
      case "corrupt":
        if (!req.force) return { kind: "unreadable", state };
        removeRecord(path);
        ctx.audit.append({
          ts: ctx.now(),
          event: "force-unfreeze",
          name: req.name,
          actor: ctx.actor,
          extra: { problem: state.problem, ...reasonOf(req) },
        });
        return { kind: "removed-unreadable", state };
      case "ok": {
        const { lock } = state;
        const expired = isExpired(lock, ctx.now());
        if (!expired && !req.force && lock.owner !== req.owner) {
          return { kind: "not-owner", freeze: lock };
        }
        removeRecord(path);
        haltPoint("unfreeze.removed", path);
        const forced = req.force && lock.owner !== req.owner;
        ctx.audit.append({
          ts: ctx.now(),
          event: expired ? "freeze-expire" : forced ? "force-unfreeze" : "unfreeze",
          name: req.name,
          actor: ctx.actor,
          lockId: lock.lockId,
          ttlMs: lock.ttlMs,
          extra: { freeze_owner: lock.owner, ...reasonOf(req) },
        });
        return { kind: "unfrozen", freeze: lock, forced };
      }
    }
  });
}
