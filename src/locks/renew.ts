/** Renewal: a holder extends its lease or records its command, only while the record is its own. */

import { type LockContext } from "./context.ts";
import { recordPath } from "./layout.ts";
import type { LockRecord, ProcessRef } from "./lockfile.ts";
import { withNameMutex } from "./mutex.ts";
import { readRecord, type RecordState, replaceRecord } from "./store.ts";
import { haltPoint } from "../testing/halt.ts";

/** A renewal of one exact hold. */
export interface RenewRequest {
  name: string;
  /** The hold to renew: nothing happens unless the record still carries this id. */
  lockId: string;
  /** Record the guarded command's process. */
  child?: ProcessRef;
  /** The hold's slot, when the name has N of 2 or more (where its file is). */
  slot?: number;
  /** The name's N, when the hold has a slot. */
  slots?: number;
}

/** What a renewal found. */
export type RenewOutcome =
  | { kind: "renewed"; lock: LockRecord }
  /** The record is gone or belongs to someone else: the hold was lost. */
  | { kind: "lost"; current: RecordState };

/**
 * Extends the lease of the hold `req.lockId` by its TTL from now (and records `child`). Race: the
 * lock may have been broken and retaken since the holder last looked; the compare of `lock_id`
 * under the name's kernel lock makes sure a renewal never overwrites a newer holder.
 */
export function renew(ctx: LockContext, req: RenewRequest): Promise<RenewOutcome> {
  return withNameMutex(ctx.layout, req.name, () => {
    const path = recordPath(ctx.layout, req);
    const state = readRecord(path, ctx.now());
    if (state.kind !== "ok" || state.lock.lockId !== req.lockId) {
      return { kind: "lost", current: state };
    }
    const now = ctx.now();
    const current = state.lock;
    const lock: LockRecord = {
      ...current,
      child: req.child ?? current.child,
      renewedMs: now,
      expiresMs: current.ttlMs === undefined ? undefined : now + current.ttlMs,
    };
    replaceRecord(ctx, path, lock);
    haltPoint("renew.replaced", path);
    ctx.audit.append({
      ts: now,
      event: "renew",
      name: req.name,
      actor: ctx.actor,
      lockId: lock.lockId,
      ttlMs: lock.ttlMs,
      fence: lock.fence,
      extra: {
        ...(req.child ? { child_pid: req.child.pid } : {}),
        ...(lock.slots !== undefined && lock.slots > 1
          ? { slot: lock.slot, slots: lock.slots }
          : {}),
      },
    });
    return { kind: "renewed", lock };
  });
}
