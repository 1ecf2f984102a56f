/**
 * Errors for lock operations that did not go the caller's way; each carries what it found. Their
 * hints name no command line: the CLI replaces them with its own (`src/cli/hints.ts`), and a
 * library caller reads them as they are.
 */

import { LoktError } from "../errors.ts";
import type { BlockedOutcome, Blocker } from "./acquire.ts";
import { describeBlocker, describeHolder, formatDuration } from "./describe.ts";
import type { LockRecord } from "./lockfile.ts";
import type { Ticket } from "./queue.ts";
import type { Verdict } from "./stale.ts";
import type { UnreadableState } from "./store.ts";

/** The name is held by someone else (exit 2). */
export class LockHeldError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** What holds the name: a record and its verdict, or an unreadable file. */
  readonly blocker: Blocker;

  /** On a name with slots: its N, every one of them held. */
  readonly slots?: number;

  /**
   * Builds the error from what the operation found (`nowMs`: when, for durations); `slots`: the
   * name's N when it has slots (the blocker is then the holder of its lowest slot).
   */
  constructor(lockName: string, blocker: Blocker, nowMs: number, slots?: number) {
    const text = describeBlocker(lockName, blocker, nowMs);
    super(
      "held",
      slots === undefined
        ? text
        : `all ${slots} slots of lock "${lockName}" are held; slot ${
          blocker.kind === "lock" ? blocker.lock.slot ?? 1 : 1
        }: ${text.replace(`lock "${lockName}" `, "")}`,
      {
        hint: "wait for it (waiters are served first come, first served), or ask why it is held",
      },
    );
    this.lockName = lockName;
    this.blocker = blocker;
    this.slots = slots;
  }
}

/** Earlier waiters queue for the name (exit 2). */
export class QueuedError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** The waiters ahead, earliest first. */
  readonly ahead: Ticket[];

  /** Builds the error from what the operation found. */
  constructor(lockName: string, ahead: Ticket[]) {
    super(
      "held",
      `lock "${lockName}" is free but ${ahead.length} waiter(s) queued first (first: ${
        ahead[0].owner
      }, pid ${ahead[0].pid})`,
      { hint: "wait, to join the queue" },
    );
    this.lockName = lockName;
    this.ahead = ahead;
  }
}

/** The name is frozen (exit 2). */
export class FrozenError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** The freeze, or undefined when its file is unreadable. */
  readonly freeze: LockRecord | undefined;

  /** Builds the error from what the operation found (`nowMs`: when, for durations). */
  constructor(
    lockName: string,
    freeze: LockRecord | undefined,
    nowMs: number,
    unreadable?: UnreadableState,
  ) {
    const text = freeze === undefined
      ? `"${lockName}" is frozen: its freeze file is unreadable (${unreadable?.problem ?? "?"})`
      : `"${lockName}" is frozen by ${freeze.owner}@${freeze.host} for another ${
        formatDuration((freeze.expiresMs ?? nowMs) - nowMs)
      }${freeze.reason ? `: ${freeze.reason}` : ""}`;
    super("frozen", text, {
      hint: freeze === undefined
        ? "a forced unfreeze removes the unreadable freeze file"
        : "wait for the freeze to end, or have its owner lift it",
    });
    this.lockName = lockName;
    this.freeze = freeze;
  }
}

/**
 * The caller asked for a different number of slots than the name's live holders use (exit 64): a
 * name has one N at a time, and mixing two would let more holders in than either caller allows.
 */
export class SlotsMismatchError extends LoktError {
  /** The lock name. */
  readonly lockName: string;
  /** The N of the live holders (undefined when a slot file does not say). */
  readonly currentSlots: number | undefined;
  /** The N asked for. */
  readonly requestedSlots: number;
  /** How many live holders use the current N. */
  readonly holders: number;

  /** Builds the error from what the operation found. */
  constructor(lockName: string, current: number | undefined, requested: number, holders: number) {
    const now = current === undefined ? "another number of slots" : `${current} slot(s)`;
    super(
      "slots_mismatch",
      `lock "${lockName}" is in use with ${now} (${holders} live holder(s)), not ${requested}`,
      {
        hint: `ask for the same number of slots${
          current === undefined ? "" : ` (${current})`
        }; a name's number of slots can change once no one holds it`,
      },
    );
    this.lockName = lockName;
    this.currentSlots = current;
    this.requestedSlots = requested;
    this.holders = holders;
  }
}

/** A wait ran out of time (exit 2). */
export class WaitTimeoutError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** Why the last attempt failed. */
  readonly last: LoktError;

  /** Builds the error from what the operation found. */
  constructor(lockName: string, waitedMs: number, last: LoktError) {
    super("timeout", `timed out after ${formatDuration(waitedMs)} waiting: ${last.message}`, {
      hint: "wait longer, or as long as it takes",
    });
    this.lockName = lockName;
    this.last = last;
  }
}

/** No lock (or freeze) by that name (exit 3). */
export class NotFoundError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** What was looked for. */
  readonly what: "lock" | "freeze";

  /** Builds the error from what the operation found. */
  constructor(lockName: string, what: "lock" | "freeze" = "lock") {
    super("not_found", `${what} "${lockName}" not found`);
    this.lockName = lockName;
    this.what = what;
  }
}

/** The caller is not the holder (exit 4). */
export class NotOwnerError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** The record found. */
  readonly lock: LockRecord;

  /** Builds the error from what the operation found. */
  constructor(lockName: string, lock: LockRecord, me: string) {
    const what = lock.kind === "freeze"
      ? "freeze"
      : lock.kind === "guard"
      ? "guarded lock"
      : "lock";
    super("not_owner", `${what} "${lockName}" belongs to ${describeHolder(lock)}, not to ${me}`, {
      hint: lock.kind === "freeze"
        ? "a forced unfreeze lifts it anyway"
        : "a forced release breaks it anyway",
    });
    this.lockName = lockName;
    this.lock = lock;
  }
}

/** `--break-stale` found a live lock (exit 2). */
export class NotStaleError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** The record found. */
  readonly lock: LockRecord;
  /** Why it is live. */
  readonly verdict: Verdict;

  /** Builds the error from what the operation found (`nowMs`: when, for durations). */
  constructor(lockName: string, lock: LockRecord, verdict: Verdict, nowMs: number) {
    super(
      "not_stale",
      `lock "${lockName}" is not stale (${verdict.reason.replace("-", " ")}): ${
        describeBlocker(lockName, { kind: "lock", lock, verdict }, nowMs)
      }`,
      { hint: "only a forced release removes a live lock" },
    );
    this.lockName = lockName;
    this.lock = lock;
    this.verdict = verdict;
  }
}

/** An unreadable lock file that is not yet old enough to be called abandoned (exit 1). */
export class UnreadableLockError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** What is wrong with the file, and how old it is. */
  readonly state: UnreadableState;

  /** Builds the error from what the operation found. */
  constructor(lockName: string, state: UnreadableState) {
    super("corrupt", `lock file of "${lockName}" is unreadable: ${state.problem}`, {
      hint: "a forced release removes it",
    });
    this.lockName = lockName;
    this.state = state;
  }
}

/** `freeze` found a freeze set by another owner (exit 2). */
export class AlreadyFrozenError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** The freeze that stands. */
  readonly freeze: LockRecord;

  /** Builds the error from what the operation found (`nowMs`: when, for durations). */
  constructor(lockName: string, freeze: LockRecord, nowMs: number) {
    super(
      "frozen",
      `"${lockName}" is already frozen by ${freeze.owner}@${freeze.host} for another ${
        formatDuration((freeze.expiresMs ?? nowMs) - nowMs)
      }${freeze.reason ? `: ${freeze.reason}` : ""}`,
      {
        hint: `only ${freeze.owner} can extend it; a forced unfreeze lifts it`,
      },
    );
    this.lockName = lockName;
    this.freeze = freeze;
  }
}

/** A freeze file that cannot be parsed (exit 1); `unfreeze --force` removes it. */
export class UnreadableFreezeError extends LoktError {
  /** The lock (or freeze) name. */
  readonly lockName: string;
  /** What is wrong with the file, and how old it is. */
  readonly state: UnreadableState;

  /** Builds the error from what the operation found. */
  constructor(lockName: string, state: UnreadableState) {
    super("corrupt", `freeze file of "${lockName}" is unreadable: ${state.problem}`, {
      hint: "a forced unfreeze removes it",
    });
    this.lockName = lockName;
    this.state = state;
  }
}

/** The typed error for a blocked outcome. */
export function blockedError(name: string, outcome: BlockedOutcome, nowMs: number): LoktError {
  switch (outcome.kind) {
    case "held":
      return new LockHeldError(name, outcome.blocker, nowMs, outcome.slots);
    case "frozen":
      return new FrozenError(name, outcome.freeze, nowMs, outcome.unreadable);
    case "queued":
      return new QueuedError(name, outcome.ahead);
  }
}
