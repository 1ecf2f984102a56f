/**
 * The lock engine: names, the lock-file format, liveness, acquisition (with waiting and the
 * queue), renewal, release, freezes, reclaiming unused names and read-only inspection. It never
 * prints, never exits and never reads `Deno.args`; callers pass the outside world in through
 * {@link LockContext}.
 *
 * @module
 */

export { assertValidName, NAME_MAX_LENGTH, nameProblem } from "./name.ts";
export {
  type DecodedLock,
  decodeLock,
  encodeLock,
  type Liveness,
  livenessOf,
  LOCKFILE_VERSION,
  type LockKind,
  type LockRecord,
  type PidSource,
  type ProcessRef,
} from "./lockfile.ts";
export {
  isExpired,
  judge,
  type JudgeContext,
  type LiveReason,
  type Scope,
  scopeOf,
  type StaleReason,
  type Verdict,
} from "./stale.ts";
export { ensureLayout, freezePath, type Layout, layoutOf, lockPath, queueDir } from "./layout.ts";
export { CORRUPT_GRACE_MS, readRecord, type RecordState, type UnreadableState } from "./store.ts";
export { judgeContextOf, judgeNow, type LockContext, newLockId } from "./context.ts";
export { type Claim, holds } from "./holder.ts";
export {
  type AcquireOutcome,
  type AcquireRequest,
  type Blocker,
  type Replaced,
  tryAcquire,
} from "./acquire.ts";
export {
  acquireWaiting,
  type BlockedOutcome,
  type HeldOutcome,
  pollDelay,
  type WaitOptions,
  type WaitOutcome,
} from "./wait.ts";
export { renew, type RenewOutcome, type RenewRequest } from "./renew.ts";
export {
  lockNames,
  release,
  releaseAll,
  type ReleaseMode,
  type ReleaseOutcome,
  type ReleaseRequest,
} from "./release.ts";
export {
  freeze,
  type FreezeOutcome,
  type FreezeRequest,
  type FreezeState,
  freezeState,
  unfreeze,
  type UnfreezeOutcome,
  type UnfreezeRequest,
} from "./freeze.ts";
export { type Entry, inspect, isHeld, listAll, type Listing } from "./inspect.ts";
export { listQueue, type Ticket, TICKET_HEARTBEAT_MS, TICKET_STALL_MS } from "./queue.ts";
export { censusOfNames, type NameCensus, reclaimUnused } from "./reclaim.ts";
export { describeBlocker, describeHolder, formatDuration } from "./describe.ts";
export {
  type Asker,
  diagnose,
  type Diagnosis,
  processText,
  type RecordSeen,
  type Suggestion,
  type WaiterSeen,
  type WaiterView,
  type WhyObservation,
  type WhyOutcome,
  type WhyReason,
} from "./why.ts";
export { observe, readFenceCounter } from "./observe.ts";
export {
  AlreadyFrozenError,
  FrozenError,
  LockHeldError,
  NotFoundError,
  NotOwnerError,
  NotStaleError,
  QueuedError,
  UnreadableFreezeError,
  UnreadableLockError,
  WaitTimeoutError,
} from "./errors.ts";
