/**
 * lokt as a library: take a lock for the life of a piece of work in this process, with the same
 * files, rules and audit log as the `lokt` command line.
 *
 * ```ts
 * import { withLock } from "@lokt/cli";
 *
 * const fence = await withLock("migrate", { ttl: "5m", wait: true }, (lock) => {
 *   // Only one process in the repository runs this at a time.
 *   return lock.fence;
 * });
 * ```
 *
 * A lock taken here belongs to this process: it is stale as soon as the process exits, and, with a
 * TTL, it is renewed every TTL/2 while held. Nothing here exits, and nothing is thrown into the
 * event loop: problems that do not fail a call (a renewal that could not be made, an audit line
 * that could not be written) go to the `onError` callback, or else to `console.warn`.
 *
 * The locks live where the command line keeps them: in files under the lock root, or in the
 * shared backend (PostgreSQL) that `LOKT_BACKEND` or `lokt.jsonc` chooses, with the same results
 * and errors. On a shared backend a held lock always has a lease (30 s when no `ttl` is given),
 * renewed every third of it, and keeps its connection open until it is released.
 *
 * @module
 */

import type { Actor } from "./src/audit/event.ts";
import { auditLimits, AuditWriter } from "./src/audit/writer.ts";
import { FilesLocks } from "./src/backends/files/locks.ts";
import type { Locks } from "./src/backends/locks.ts";
import { openLocks, refuseSharedBackendWith } from "./src/backends/select.ts";
import { selectedBackend } from "./src/backends/factory.ts";
import { parseDuration } from "./src/duration.ts";
import { LoktError, toLoktError, UsageError } from "./src/errors.ts";
import { detectionOf, type Identity, resolveIdentity } from "./src/identity/identity.ts";
import { osUserName } from "./src/identity/user.ts";
import { LinuxProbe } from "./src/identity/proc_linux.ts";
import { DarwinProbe } from "./src/identity/proc_darwin.ts";
import { OpaqueProbe } from "./src/identity/proc_other.ts";
import type { ProcessProbe } from "./src/identity/process.ts";
import type { LockContext } from "./src/locks/context.ts";
import type { Claim } from "./src/locks/holder.ts";
import { type Entry, listAll } from "./src/locks/inspect.ts";
import { layoutOf } from "./src/locks/layout.ts";
import type { LockRecord } from "./src/locks/lockfile.ts";
import { rehearseRelease } from "./src/locks/rehearse.ts";
import { slotsProblem } from "./src/locks/slots.ts";
import { observe } from "./src/locks/observe.ts";
import { diagnose, type Diagnosis } from "./src/locks/why.ts";
import { findRoot } from "./src/root.ts";
// The file engine's modules that its lock operations (`FilesLocks`) load on first use: imported
// here too, so that a program using the library loads them up front as it always did, and a
// `deno compile` of it embeds them.
import "./src/locks/hold.ts";
import "./src/locks/lease.ts";
import "./src/locks/release.ts";

export { type ErrorCode, InterruptedError, LoktError } from "./src/errors.ts";
export {
  FrozenError,
  LockHeldError,
  NotFoundError,
  NotOwnerError,
  QueuedError,
  SlotsMismatchError,
  WaitTimeoutError,
} from "./src/locks/errors.ts";
export type { Blocker } from "./src/locks/acquire.ts";
export type { LockKind, LockRecord, PidSource, ProcessRef } from "./src/locks/lockfile.ts";
export type { LiveReason, Scope, StaleReason, Verdict, VerdictFacts } from "./src/locks/stale.ts";
export type { RecordState, UnreadableState } from "./src/locks/store.ts";
export type { ProcessState } from "./src/identity/process.ts";
export type { Ticket } from "./src/locks/queue.ts";
export type {
  Diagnosis,
  SlotSeen,
  SlotsView,
  Suggestion,
  WaiterView,
  WhyOutcome,
  WhyReason,
} from "./src/locks/why.ts";

/** A duration: milliseconds, or text such as `"500ms"`, `"90s"`, `"5m"`, `"1h30m"`. */
export type Duration = number | string;

/** Where and as whom a library call works. */
export interface RootOptions {
  /** The lock root; default: found like the CLI does (`LOKT_ROOT`, git common dir, `.lokt`). */
  root?: string;
  /** Directory the root is searched from; default: `Deno.cwd()`. */
  cwd?: string;
  /**
   * Owner name recorded in locks and audit lines; default: as the CLI finds it (`LOKT_OWNER`,
   * else `USER`, `LOGNAME`, `USERNAME`, else the user database). The agent id is found as the CLI
   * finds it too (`LOKT_AGENT_ID`, an agent harness's session, the terminal session), once per
   * process.
   */
  owner?: string;
}

/** Options of {@link acquire} and {@link withLock}. */
export interface AcquireOptions extends RootOptions {
  /**
   * Lease length; renewed every half TTL while held (every third on a shared backend). Default:
   * no TTL on files; 30 s on a shared backend, where a hold always has a lease.
   */
  ttl?: Duration;
  /** Wait for the lock (first come, first served) instead of failing. */
  wait?: boolean;
  /**
   * How many holders the name admits at once (a counting lock), 1 to 256; default 1, the plain
   * lock. Every caller of a name must ask for the same number while anyone holds it (else
   * {@link SlotsMismatchError}). The hold's slot is {@link LockHandle.slot}.
   *
   * @example
   * ```ts
   * import { withLock } from "@lokt/cli";
   * await withLock("test-db", { slots: 2, wait: true }, (lock) => {
   *   console.log(`using database number ${lock.slot}`);
   * });
   * ```
   */
  slots?: number;
  /** With `wait`: give up after this long (throws {@link WaitTimeoutError}). */
  timeout?: Duration;
  /**
   * Abort a wait: throws a {@link LoktError} with code `interrupted` whose `cause` is the abort's
   * reason (`signal.reason`).
   */
  signal?: AbortSignal;
  /**
   * Called once if the lock is lost while held (broken with `lokt unlock --force`, or on a shared
   * backend a lease that could not be renewed in time), noticed within a second (on files only
   * with `ttl`: without one nothing watches the lock). The loss is recorded in the
   * audit log as `lost`; {@link LockHandle.release} then resolves false.
   */
  onLost?: (name: string) => void;
  /**
   * Called with a problem that does not end the hold, so that it is not lost silently: renewals
   * that start failing (a full disk, a file in the way; once per run of failures, also recorded in
   * the audit log as `renew-error`, and retried until they work), or an audit line that could not
   * be written. Default: `console.warn`.
   *
   * @example
   * ```ts
   * import { acquire } from "@lokt/cli";
   * await using lock = await acquire("build", {
   *   ttl: "1m",
   *   onError: (error) => console.error(`lokt: ${error.code}: ${error.message}`),
   * });
   * ```
   */
  onError?: (error: LoktError) => void;
}

/** A held lock. Release it with {@link LockHandle.release} or `await using`. */
export interface LockHandle {
  /** The lock's name. */
  readonly name: string;
  /** This hold's id: `lock_id` in the lock file, and what {@link WhyOptions.lockId} takes. */
  readonly lockId: string;
  /** Larger for every new acquisition of the name: pass it to resources that reject stale writers. */
  readonly fence: number;
  /** The slot held, 1 to the name's number of slots (always 1 for a plain lock). */
  readonly slot: number;
  /** The name's number of slots ({@link AcquireOptions.slots}; 1 for a plain lock). */
  readonly slots: number;
  /** Releases the lock; a no-op after the first call. Resolves false if it had been lost. */
  release(): Promise<boolean>;
  /** Releases the lock at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Where problems that do not fail a call go: `onError`, else `console.warn`. */
function reportTo(options: Pick<AcquireOptions, "onError">): (error: LoktError) => void {
  return options.onError ??
    ((error) =>
      console.warn(`lokt: warning: ${error.message}${error.hint ? ` (${error.hint})` : ""}`));
}

function toMs(value: Duration | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") {
    if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${what} must be positive`);
    return value;
  }
  const parsed = parseDuration(value);
  if ("problem" in parsed) throw new UsageError(`${what}: ${parsed.problem}`);
  return parsed.ms;
}

let sharedProbe: ProcessProbe | undefined;
function probe(): ProcessProbe {
  sharedProbe ??= Deno.build.os === "linux"
    ? new LinuxProbe()
    : Deno.build.os === "darwin"
    ? new DarwinProbe()
    : new OpaqueProbe();
  return sharedProbe;
}

let sharedIdentity: Identity | undefined;
/** This process's identity, resolved as the CLI resolves it, once. */
function identity(): Identity {
  return sharedIdentity ??= resolveIdentity({
    env,
    probe: probe(),
    pid: Deno.pid,
    detect: detectionOf(env),
    userName: osUserName,
    nonce: () => crypto.randomUUID().slice(0, 8),
  });
}

const env = (name: string) => Deno.env.get(name);

/** The caller as locks and audit lines name it. */
function actorOf(options: RootOptions): Actor {
  const id = identity();
  return {
    owner: options.owner ?? id.owner,
    host: probe().machine().host,
    pid: Deno.pid,
    agentId: id.agentId,
  };
}

/** The file engine's context at `root`. */
function fileContext(
  root: string,
  actor: Actor,
  options: Pick<AcquireOptions, "onError">,
): LockContext {
  const layout = layoutOf(root);
  const report = reportTo(options);
  return {
    layout,
    now: () => Date.now(),
    probe: probe(),
    audit: new AuditWriter(
      layout.audit,
      auditLimits(env),
      (message) => report(new LoktError("io", message)),
    ),
    actor,
  };
}

/** The file engine's context, for the reads that work on files only ({@link status}, {@link why}). */
function contextFor(options: RootOptions & Pick<AcquireOptions, "onError">): LockContext {
  const cwd = options.cwd ?? Deno.cwd();
  // A root given by the caller is files by choice; otherwise a shared backend chosen in the
  // environment or lokt.jsonc is refused, not silently replaced by files.
  if (options.root === undefined) {
    refuseSharedBackendWith(env, cwd, selectedBackend, "the library's status() and why()");
  }
  return fileContext(options.root ?? findRoot(env, cwd).path, actorOf(options), options);
}

/** One call's (or one handle's) lock operations, and the caller as their actor. */
interface Opened {
  locks: Locks;
  actor: Actor;
  /** The file engine's context (files only; built on first use). */
  ctx: () => LockContext;
}

/**
 * The lock operations of the backend the caller uses: files at `root` when given (by choice),
 * else what `LOKT_BACKEND` or `lokt.jsonc` chooses, as the command line does. A shared backend
 * is connected here; close it with `locks.close()`.
 */
async function openFor(options: RootOptions & Pick<AcquireOptions, "onError">): Promise<Opened> {
  const actor = actorOf(options);
  const cwd = options.cwd ?? Deno.cwd();
  const found = options.root === undefined ? findRoot(env, cwd) : undefined;
  const root = options.root ?? found?.path ?? "";
  let ctx: LockContext | undefined;
  const context = () => ctx ??= fileContext(root, actor, options);
  if (found === undefined) {
    // The library's handles only take, keep and release: one context serves both uses.
    return { locks: new FilesLocks(root, { ctx: context, readCtx: context }), actor, ctx: context };
  }
  const report = reportTo(options);
  const locks = await openLocks({
    env,
    cwd,
    workTree: found.workTree,
    root,
    ctx: context,
    readCtx: context,
    probe: probe(),
    actor: () => actor,
    warn: (message) => report(new LoktError("io", message)),
  });
  return { locks, actor, ctx: context };
}

/** The caller as the ownership rules see it (no process of its own to follow). */
function claimOf(actor: Actor, agentId = actor.agentId): Claim {
  return {
    owner: actor.owner,
    host: actor.host,
    agentId,
    ancestors: identity().ancestors,
    pid: Deno.pid,
  };
}

/**
 * Takes the lock `name` for this process. Throws {@link LockHeldError} (or {@link FrozenError},
 * {@link QueuedError}, {@link WaitTimeoutError}) when it cannot, and {@link InterruptedError}
 * when `signal` aborts the wait.
 *
 * @example
 * ```ts
 * import { acquire } from "@lokt/cli";
 * await using lock = await acquire("build", { ttl: "5m" });
 * console.log(`holding fence ${lock.fence}`);
 * ```
 */
export async function acquire(name: string, options: AcquireOptions = {}): Promise<LockHandle> {
  const ttlMs = toMs(options.ttl, "ttl");
  const timeoutMs = toMs(options.timeout, "timeout");
  const slots = options.slots ?? 1;
  const problem = slotsProblem(slots);
  if (problem !== undefined) throw new UsageError(problem.replace("--slots", "slots"));
  const opened = await openFor(options);
  try {
    const self = probe().info(Deno.pid);
    const { lock } = await opened.locks.hold({
      name,
      kind: "guard",
      ttlMs,
      slots,
      claim: {
        ...claimOf(opened.actor),
        process: { pid: Deno.pid, start: self?.start, source: "self" },
        ancestors: [],
      },
    }, {
      wait: options.wait === true,
      timeoutMs,
      signal: options.signal,
    });
    if (opened.locks.root !== undefined) rehearseRelease(opened.ctx(), name);
    return await holdHandle(opened, lock, options);
  } catch (error) {
    await opened.locks.close();
    throw error;
  }
}

async function holdHandle(
  opened: Opened,
  lock: LockRecord,
  options: AcquireOptions,
): Promise<LockHandle> {
  const { locks } = opened;
  let released = false;
  let lost = false;
  // Only with a TTL (on a shared backend a hold always has one): Deno loads its timers on first
  // use (about 15 ms), which would delay every waiter of a lock held without one.
  const keeper = lock.ttlMs === undefined ? undefined : await locks.keep(lock, {
    unref: true,
    onLost: () => {
      lost = true;
      options.onLost?.(lock.name);
    },
    onError: (error) => reportTo(options)(toLoktError(error)),
  });
  keeper?.start();
  const handle: LockHandle = {
    name: lock.name,
    lockId: lock.lockId,
    fence: lock.fence,
    slot: lock.slot ?? 1,
    slots: lock.slots ?? 1,
    async release() {
      if (released) return !lost;
      released = true;
      try {
        await keeper?.stop();
        if (lost) return false;
        const outcome = await locks.release({
          name: lock.name,
          mode: "owner",
          lockId: lock.lockId,
          slot: lock.slot,
          slots: lock.slots,
          claim: claimOf(opened.actor),
        });
        return outcome.kind === "released";
      } finally {
        await locks.close();
      }
    },
    async [Symbol.asyncDispose]() {
      await handle.release();
    },
  };
  return handle;
}

/**
 * Runs `fn` while holding the lock `name`, and releases it however `fn` ends.
 *
 * @example
 * ```ts
 * import { withLock } from "@lokt/cli";
 * const result = await withLock("deploy", { wait: true, timeout: "2m" }, () => "deployed");
 * ```
 */
export async function withLock<T>(
  name: string,
  options: AcquireOptions,
  fn: (lock: LockHandle) => T | Promise<T>,
): Promise<T> {
  const lock = await acquire(name, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** One lock or freeze as {@link status} reports it. */
export interface LockStatus {
  /** The lock (or freeze) name. */
  name: string;
  /** A lock file (`locks/`) or a freeze file (`freezes/`). */
  kind: "lock" | "freeze";
  /** The record, or undefined when the file could not be read. */
  record?: LockRecord;
  /** `"live"` or `"stale"`, or `"unreadable"`. */
  state: "live" | "stale" | "unreadable";
  /** The slot of a holder of a name with slots (one entry per slot held); 1 for a plain lock. */
  slot: number;
  /** Why: `"guard-alive"`, `"expired"`, `"dead"`, ... or the read problem. */
  reason: string;
}

function statusOf(entry: Entry): LockStatus {
  if (entry.state.kind === "ok" && entry.verdict !== undefined) {
    return {
      name: entry.name,
      kind: entry.kind,
      record: entry.state.lock,
      state: entry.verdict.kind,
      reason: entry.verdict.reason,
      slot: entry.slot ?? 1,
    };
  }
  const reason = "problem" in entry.state ? entry.state.problem : entry.state.kind;
  return { name: entry.name, kind: entry.kind, state: "unreadable", reason, slot: entry.slot ?? 1 };
}

/**
 * Lists every lock and freeze under the root, judged now. Read-only.
 *
 * @example
 * ```ts
 * import { status } from "@lokt/cli";
 * for (const lock of status()) console.log(lock.name, lock.state, lock.reason);
 * ```
 */
export function status(options: RootOptions = {}): LockStatus[] {
  const ctx = contextFor(options);
  const listing = listAll(ctx);
  return [...listing.locks, ...listing.freezes].map(statusOf);
}

/** Options of {@link why}. */
export interface WhyOptions extends RootOptions {
  /**
   * Agent id to ask as, for plain locks taken by `lokt lock`; default: this process's, found as
   * the CLI finds it (`LOKT_AGENT_ID`, an agent harness's session, the terminal session).
   */
  agentId?: string;
  /**
   * A lock id that counts as the caller's own, such as {@link LockHandle.lockId}; default:
   * `LOKT_LOCK_ID`, set for commands run by `lokt guard`.
   */
  lockId?: string;
}

/**
 * Explains whether `name` could be acquired now, as `lokt why` does: the freeze, the holder and
 * its liveness, stale or corrupted lock files, the waiting queue and the fence, with suggested
 * commands. Strictly read-only: it changes no file, not even creating the root. A snapshot: the
 * answer may be out of date by the time you act on it.
 *
 * @example
 * ```ts
 * import { why } from "@lokt/cli";
 * const diagnosis = why("build");
 * if (!diagnosis.acquirable) {
 *   console.log(diagnosis.reasons.map((r) => r.message).join("\n"));
 *   console.log(diagnosis.suggestions.map((s) => s.action));
 * }
 * ```
 */
export function why(name: string, options: WhyOptions = {}): Diagnosis {
  const ctx: LockContext = { ...contextFor(options), audit: { append() {} } };
  const lockId = options.lockId ?? Deno.env.get("LOKT_LOCK_ID");
  const asker = {
    claim: claimOf(ctx.actor, options.agentId),
    enclosingLockId: lockId === "" ? undefined : lockId,
  };
  return diagnose(observe(ctx, name, asker));
}

/** Options of {@link release}. */
export interface ReleaseOptions extends RootOptions {
  /** Called with a problem that does not fail the call (an audit line that could not be written); default: `console.warn`. */
  onError?: (error: LoktError) => void;
  /**
   * `"break-stale"` removes the lock only if it is stale (TTL run out, holder dead, or an
   * abandoned unreadable file); `"force"` removes it whoever holds it. Both are recorded in the
   * audit log.
   */
  mode: "break-stale" | "force";
}

/** What {@link release} did. */
export type ReleaseResult =
  | { kind: "removed"; record?: LockRecord }
  | { kind: "not-found" }
  /** `break-stale` found a live lock and left it alone. */
  | { kind: "not-stale"; record: LockRecord }
  /** `break-stale` found an unreadable file still within its grace period. */
  | { kind: "unreadable"; problem: string };

/**
 * Removes a lock this process does not hold (release your own with {@link LockHandle.release}):
 * only a stale one with `mode: "break-stale"`, any with `mode: "force"`.
 *
 * @example
 * ```ts
 * import { release } from "@lokt/cli";
 * const result = await release("build", { mode: "break-stale" });
 * if (result.kind === "not-stale") console.log("still held by", result.record.owner);
 * ```
 */
export async function release(name: string, options: ReleaseOptions): Promise<ReleaseResult> {
  const { locks, actor } = await openFor(options);
  let outcome;
  try {
    outcome = await locks.release({ name, mode: options.mode, claim: claimOf(actor) });
  } finally {
    await locks.close();
  }
  switch (outcome.kind) {
    case "broken":
    case "released":
      return { kind: "removed", record: outcome.lock };
    case "removed-unreadable":
      return { kind: "removed" };
    case "not-found":
    case "gone":
      return { kind: "not-found" };
    case "not-stale":
    case "not-owner":
    case "nested":
      return { kind: "not-stale", record: outcome.lock };
    case "unreadable":
      return { kind: "unreadable", problem: outcome.state.problem };
  }
}

// `deno run -A jsr:@lokt/cli <command>` runs this module, the package's default export: hand over
// to the CLI. Imported only then, so a program that uses the library does not load the CLI.
if (import.meta.main) {
  const { main } = await import("./src/cli/entry.ts");
  await main();
}
