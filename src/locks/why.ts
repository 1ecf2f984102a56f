/**
 * What `lokt why NAME` says: given everything observed about a name (its lock file, its freeze,
 * its queue, its fence counter) and who is asking, decide whether `lokt lock NAME` would
 * succeed, list every reason that matters, and suggest what to do. Pure: it reads no file and no
 * clock. The decision follows the order acquisition uses (`acquire.ts`): re-entry and nesting
 * first, then the freeze, then the lock, then the queue.
 */

import { formatAge, formatDuration } from "./describe.ts";
import { type Claim, holds } from "./holder.ts";
import type { LockRecord } from "./lockfile.ts";
import type { Ticket } from "./queue.ts";
import { TICKET_STALL_MS } from "./queue.ts";
import type { Verdict } from "./stale.ts";
import { CORRUPT_GRACE_MS } from "./store.ts";

/** What was found at a lock's or freeze's path. */
export type RecordSeen =
  | { kind: "absent" }
  | { kind: "ok"; record: LockRecord; verdict: Verdict }
  /** Empty or unparsable (`ageMs` since its last change), or unreadable (`io`). */
  | { kind: "unreadable"; cause: "empty" | "corrupt" | "io"; problem: string; ageMs: number }
  /** Written by a newer lokt. */
  | { kind: "unsupported"; version: number };

/** A queue ticket and whether its waiter's process still runs. */
export interface WaiterSeen {
  ticket: Ticket;
  /** `remote`: another host or pid namespace, where lokt cannot tell. */
  process: "alive" | "dead" | "remote";
}

/** Who asks: the caller as acquisition would see it. */
export interface Asker {
  claim: Claim;
  /** `LOKT_LOCK_ID` inherited from an enclosing guard. */
  enclosingLockId?: string;
}

/** Everything `why` looks at, gathered read-only by `observe.ts`. */
export interface WhyObservation {
  name: string;
  nowMs: number;
  /** False when the lock root does not exist yet. */
  rootExists: boolean;
  lock: RecordSeen;
  freeze: RecordSeen;
  /** Queue tickets, earliest first. */
  waiters: WaiterSeen[];
  /**
   * The name's fence counter, or the root's fence floor while it has none: at least the highest
   * fence handed out so far (0: never acquired).
   */
  fence: number;
  asker: Asker;
  /**
   * On a name with slot files (taken with N of 2 or more): every slot's file. `lock` is then the
   * plain lock file, normally absent.
   */
  slots?: SlotSeen[];
}

/** What was found at one slot's file of a name with N of 2 or more. */
export interface SlotSeen {
  slot: number;
  seen: RecordSeen;
}

/** A name's slots as `why` shows them: its N, how many are held, and every slot's file. */
export interface SlotsView {
  /** The N of the holders' records (the largest, should they differ). */
  slots: number;
  /** Live holders, and unreadable files that still count as held. */
  held: number;
  seats: SlotSeen[];
}

/** Whether `lokt lock NAME` would succeed now, and how. */
export type WhyOutcome =
  /** Nothing stands in the way. */
  | { kind: "free" }
  /** A stale lock or an abandoned unreadable lock file would be replaced. */
  | { kind: "takeover" }
  /** The asker holds it already (`nested`: through the guard it runs under). */
  | { kind: "self-held"; nested: boolean }
  | { kind: "frozen" }
  | { kind: "held" }
  /** Free, but live waiters queued earlier have the next turns. */
  | { kind: "queued"; ahead: number };

/** A waiter as `why` shows it. */
export interface WaiterView {
  /** The ticket as read from `queue/<name>/`. */
  ticket: Ticket;
  /** `waiting`: has its turn; `stalled`: its heartbeat stopped, passed over; `dead`: skipped. */
  state: "waiting" | "stalled" | "dead";
  /** How long it has waited so far. */
  waitingMs: number;
}

/** One finding about the name, most important first. Every one carries a one-line message. */
export type WhyReason =
  | {
    type: "frozen";
    message: string;
    freeze: LockRecord;
    verdict: Verdict;
    ageMs: number;
    remainingMs: number;
  }
  | {
    type: "freeze-expired";
    message: string;
    freeze: LockRecord;
    verdict: Verdict;
    overdueMs: number;
  }
  | {
    type: "freeze-unreadable";
    message: string;
    problem: string;
    ageMs: number;
    /** False once it is old enough for the next acquisition to remove it. */
    blocking: boolean;
  }
  | { type: "freeze-unsupported"; message: string; version: number }
  | { type: "self-held"; message: string; lock: LockRecord; verdict: Verdict; nested: boolean }
  | { type: "held"; message: string; lock: LockRecord; verdict: Verdict }
  | { type: "expired"; message: string; lock: LockRecord; verdict: Verdict; overdueMs: number }
  /** The holder's processes are gone (`verdict.reason` is `dead` or `rebooted`). */
  | { type: "dead-pid"; message: string; lock: LockRecord; verdict: Verdict }
  | {
    type: "corrupted";
    message: string;
    problem: string;
    ageMs: number;
    /** True while it is young enough that a writer may still be finishing it. */
    blocking: boolean;
  }
  | { type: "unreadable"; message: string; problem: string }
  | { type: "unsupported"; message: string; version: number }
  | { type: "queued"; message: string; ahead: WaiterView[] };

/** Something to do: a command to run, or an instruction, with an optional remark. */
export interface Suggestion {
  /** A command to run (`lokt unlock build --force`), or an instruction. */
  action: string;
  /** When or why, e.g. `break-glass`. */
  note?: string;
}

/** The answer of `why`. */
export interface Diagnosis {
  /** The lock name. */
  name: string;
  /** Whether and how acquisition would succeed, or what blocks it first. */
  outcome: WhyOutcome;
  /** True when `lokt lock NAME`, run by the asker now, would succeed. */
  acquirable: boolean;
  /** One line: the verdict. */
  headline: string;
  /** The reason that decided the outcome (undefined when free). */
  cause?: WhyReason;
  /** Every finding, most important first: the freeze, the lock file, the queue. */
  reasons: WhyReason[];
  /** What to do, deduplicated, in the order of the reasons. */
  suggestions: Suggestion[];
  /** At least the highest fence handed out for the name so far (0: never acquired). */
  fence: number;
  /** The fence the next new holder would get (re-entry keeps the current one). */
  nextFence: number;
  /** Every queue ticket, earliest first, dead and stalled ones included. */
  waiters: WaiterView[];
  /** False when the lock root does not exist yet. */
  rootExists: boolean;
  /** When the observation was made, epoch milliseconds. */
  nowMs: number;
  /** On a name with slots: its N, how many are held, every slot's file. */
  slots?: SlotsView;
}

function who(record: LockRecord): string {
  return `${record.owner}@${record.host}`;
}

/** `PID 12, alive`, `guard PID 12, alive; command PID 13, dead`, `PID 12` (remote), `no PID`. */
export function processText(lock: LockRecord, verdict: Verdict): string {
  const remote = verdict.scope === "remote";
  const state = (s: string) => (remote ? "" : `, ${s}`);
  if (lock.kind === "guard") {
    let text = `guard PID ${lock.pid}${state(verdict.pidState)}`;
    if (lock.child) text += `; command PID ${lock.child.pid}${state(verdict.childState)}`;
    return text;
  }
  return lock.pid > 0 ? `PID ${lock.pid}${state(verdict.pidState)}` : "no PID";
}

function waiterViews(obs: WhyObservation): WaiterView[] {
  return obs.waiters.map(({ ticket, process }) => ({
    ticket,
    state: process === "dead"
      ? "dead"
      : obs.nowMs - ticket.beatMs > TICKET_STALL_MS
      ? "stalled"
      : "waiting",
    waitingMs: Math.max(0, obs.nowMs - ticket.sinceMs),
  }));
}

function freezeReason(obs: WhyObservation): WhyReason | undefined {
  const seen = obs.freeze;
  const now = obs.nowMs;
  switch (seen.kind) {
    case "absent":
      return undefined;
    case "unsupported":
      return {
        type: "freeze-unsupported",
        message: `Freeze file has format version ${seen.version}; this lokt understands ` +
          "version 1 only",
        version: seen.version,
      };
    case "unreadable": {
      const blocking = seen.cause === "io" || seen.ageMs < CORRUPT_GRACE_MS;
      return {
        type: "freeze-unreadable",
        message: `Freeze file is unreadable (${seen.problem}); ` +
          (blocking
            ? `it counts as a freeze until it is ${formatDuration(CORRUPT_GRACE_MS)} old`
            : "the next acquisition removes it"),
        problem: seen.problem,
        ageMs: seen.ageMs,
        blocking,
      };
    }
    case "ok": {
      const freeze = seen.record;
      const ageMs = Math.max(0, now - freeze.acquiredMs);
      const because = freeze.reason ? `: ${freeze.reason}` : "";
      if (seen.verdict.kind === "stale") {
        const overdueMs = now - (freeze.expiresMs ?? now);
        return {
          type: "freeze-expired",
          message: `Freeze by ${who(freeze)} expired ${formatDuration(overdueMs)} ago and no ` +
            "longer blocks; the next acquisition removes it",
          freeze,
          verdict: seen.verdict,
          overdueMs,
        };
      }
      const remainingMs = freeze.expiresMs === undefined ? Infinity : freeze.expiresMs - now;
      return {
        type: "frozen",
        message: `Frozen by ${who(freeze)} for ${formatAge(now, freeze.acquiredMs)} (${
          formatDuration(remainingMs)
        } remaining)${because}`,
        freeze,
        verdict: seen.verdict,
        ageMs,
        remainingMs,
      };
    }
  }
}

function freezeBlocks(reason: WhyReason | undefined): boolean {
  if (reason === undefined) return false;
  switch (reason.type) {
    case "frozen":
    case "freeze-unsupported":
      return true;
    case "freeze-unreadable":
      return reason.blocking;
    default:
      return false;
  }
}

function isSelf(obs: WhyObservation, lock: LockRecord, verdict: Verdict): boolean | "nested" {
  const { asker } = obs;
  if (asker.enclosingLockId !== undefined && lock.lockId === asker.enclosingLockId) {
    return "nested";
  }
  const flaggedAlive = lock.pidSource === "flag" && verdict.pidState !== "dead";
  return lock.kind === "lock" && holds(lock, asker.claim, flaggedAlive);
}

function lockReason(obs: WhyObservation): WhyReason | undefined {
  const seen = obs.lock;
  const now = obs.nowMs;
  switch (seen.kind) {
    case "absent":
      return undefined;
    case "unsupported":
      return {
        type: "unsupported",
        message: `Lock file has format version ${seen.version}; this lokt understands version ` +
          "1 only",
        version: seen.version,
      };
    case "unreadable": {
      if (seen.cause === "io") {
        return {
          type: "unreadable",
          message: `Lock file cannot be read (${seen.problem})`,
          problem: seen.problem,
        };
      }
      const blocking = seen.ageMs < CORRUPT_GRACE_MS;
      return {
        type: "corrupted",
        message:
          `Lock file ${
            seen.cause === "empty" ? "is empty" : "contains invalid JSON"
          } (${seen.problem}); ` + (blocking
            ? `it counts as held until it is ${
              formatDuration(CORRUPT_GRACE_MS)
            } old, in case a writer is still finishing it`
            : "the next acquisition replaces it"),
        problem: seen.problem,
        ageMs: seen.ageMs,
        blocking,
      };
    }
    case "ok":
      return recordReason(obs, seen.record, seen.verdict, now);
  }
}

function recordReason(
  obs: WhyObservation,
  lock: LockRecord,
  verdict: Verdict,
  now: number,
): WhyReason {
  const age = formatAge(now, lock.acquiredMs);
  const procs = processText(lock, verdict);
  const self = isSelf(obs, lock, verdict);
  if (self !== false) {
    return {
      type: "self-held",
      message: self === "nested"
        ? `The guard you run under holds this lock (${procs}) for ${age}`
        : `You already hold this lock (${procs}) for ${age}`,
      lock,
      verdict,
      nested: self === "nested",
    };
  }
  if (verdict.kind === "stale") {
    if (verdict.reason === "expired") {
      const overdueMs = now - (lock.expiresMs ?? now);
      return {
        type: "expired",
        message: `Held by ${who(lock)} (${procs}) for ${age} — TTL expired ${
          formatDuration(overdueMs)
        } ago`,
        lock,
        verdict,
        overdueMs,
      };
    }
    const why = verdict.reason === "rebooted" ? " — the machine rebooted since" : "";
    return {
      type: "dead-pid",
      message: `Held by ${who(lock)} (${procs}) for ${age}${why}`,
      lock,
      verdict,
    };
  }
  let message = `Held by ${who(lock)} (${procs}) for ${age}`;
  if (verdict.scope === "remote") {
    message += " — PID liveness cannot be verified (remote host)";
    if (lock.expiresMs === undefined) message += "; it has no TTL, so it never goes stale";
  } else if (verdict.expired) {
    message += ` — TTL overdue by ${
      formatDuration(now - (lock.expiresMs ?? now))
    }, but a process it names is alive`;
  }
  return { type: "held", message, lock, verdict };
}

function suggestionsFor(
  obs: WhyObservation,
  reasons: WhyReason[],
  outcome: WhyOutcome,
): Suggestion[] {
  const n = obs.name;
  const list: Suggestion[] = [];
  const add = (action: string, note?: string) => {
    if (!list.some((s) => s.action === action)) list.push({ action, note });
  };
  const selfHeld = outcome.kind === "self-held";
  // A freeze comes first: until it is gone, nothing about the lock or the queue can help.
  const relevant = outcome.kind === "frozen"
    ? reasons.filter((r) => r.type.startsWith("freeze") || r.type === "frozen")
    : reasons;
  for (const reason of relevant) {
    switch (reason.type) {
      case "frozen":
        if (selfHeld) break;
        add(`Wait for freeze to expire (${formatDuration(reason.remainingMs)} remaining)`);
        if (reason.freeze.owner === obs.asker.claim.owner) {
          add(`lokt unfreeze ${n}`);
        } else {
          add(`lokt unfreeze ${n}`, `if you are ${reason.freeze.owner}`);
          add(`lokt unfreeze ${n} --force`, "break-glass");
        }
        break;
      case "freeze-unreadable":
        if (reason.blocking && !selfHeld) {
          add(`lokt unfreeze ${n} --force`, "remove the unreadable freeze file");
        }
        break;
      case "freeze-unsupported":
        if (!selfHeld) add(`lokt unfreeze ${n} --force`, "written by a newer lokt");
        break;
      case "freeze-expired":
        break;
      case "self-held":
        if (!reason.nested) {
          add(`lokt unlock ${n}`, "release it");
          add(`lokt lock ${n}`, "refresh its TTL");
        }
        break;
      case "held":
        add(`lokt lock ${n} --wait`);
        if (reason.verdict.scope === "remote" && reason.lock.expiresMs !== undefined) {
          add(
            `lokt unlock ${n} --break-stale`,
            `once its TTL runs out, in ${formatDuration(reason.lock.expiresMs - obs.nowMs)}`,
          );
        }
        add(`lokt unlock ${n} --force`, "break-glass");
        break;
      case "expired":
        add(`lokt unlock ${n} --break-stale`);
        add(`lokt lock ${n} --wait`, "auto-prunes expired locks");
        break;
      case "dead-pid":
        add(`lokt unlock ${n} --break-stale`);
        add(`lokt lock ${n} --wait`, "auto-prunes dead locks");
        break;
      case "corrupted":
        add(`lokt unlock ${n} --force`, "remove corrupted lock file");
        break;
      case "unreadable":
        add("lokt doctor", "check the lock root's permissions");
        break;
      case "unsupported":
        add(`lokt unlock ${n} --force`, "written by a newer lokt; or upgrade lokt");
        break;
      case "queued":
        add(`lokt lock ${n} --wait`, "join the queue: first come, first served");
        break;
    }
  }
  return list;
}

function headline(name: string, outcome: WhyOutcome): string {
  switch (outcome.kind) {
    case "free":
      return `Lock "${name}" is FREE — acquisition would succeed.`;
    case "takeover":
      return `Lock "${name}" is STALE — acquisition would succeed and take it over:`;
    case "self-held":
      return outcome.nested
        ? `Lock "${name}" is HELD BY YOUR GUARD — nested lokt calls pass through:`
        : `Lock "${name}" is HELD BY YOU — acquisition would succeed (re-entry):`;
    case "frozen":
    case "held":
    case "queued":
      return `Lock "${name}" is BLOCKED:`;
  }
}

function seenBlocks(seen: RecordSeen): boolean {
  switch (seen.kind) {
    case "absent":
      return false;
    case "ok":
      return seen.verdict.kind === "live";
    case "unreadable":
      return seen.cause === "io" || seen.ageMs < CORRUPT_GRACE_MS;
    case "unsupported":
      return true;
  }
}

/**
 * The one record of a name with slots that decides the outcome, as acquisition picks: the
 * asker's own, else none while a slot is free, else a stale one it would take over, else the
 * holder of the lowest slot (every slot held). A live plain lock file beside slots is reported as
 * it is.
 */
function decidingSeat(obs: WhyObservation, view: SlotsView): RecordSeen {
  if (seenBlocks(obs.lock)) return obs.lock;
  const seats = view.seats.filter((s) => s.slot <= view.slots);
  for (const { seen } of seats) {
    if (seen.kind === "ok" && isSelf(obs, seen.record, seen.verdict)) return seen;
  }
  const bySlot = new Map(seats.map((s) => [s.slot, s.seen]));
  let stale: RecordSeen | undefined;
  for (let k = 1; k <= view.slots; k++) {
    const seen = bySlot.get(k);
    if (seen === undefined || seen.kind === "absent") return { kind: "absent" };
    if (!seenBlocks(seen)) stale ??= seen;
  }
  return stale ?? seats.find((s) => seenBlocks(s.seen))!.seen;
}

function slotsView(slots: SlotSeen[]): SlotsView {
  const n = Math.max(
    1,
    ...slots.map((s) => s.seen.kind === "ok" ? s.seen.record.slots ?? 1 : 1),
  );
  return { slots: n, held: slots.filter((s) => seenBlocks(s.seen)).length, seats: slots };
}

/** Decides what `why` says about one name. Pure. */
export function diagnose(observed: WhyObservation): Diagnosis {
  const view = observed.slots === undefined ? undefined : slotsView(observed.slots);
  const obs = view === undefined ? observed : { ...observed, lock: decidingSeat(observed, view) };
  const waiters = waiterViews(obs);
  const ahead = waiters.filter((w) => w.state === "waiting");
  const freeze = freezeReason(obs);
  const lock = lockReason(obs);

  let outcome: WhyOutcome;
  if (lock?.type === "self-held") {
    outcome = { kind: "self-held", nested: lock.nested };
  } else if (freezeBlocks(freeze)) {
    outcome = { kind: "frozen" };
  } else if (
    lock !== undefined &&
    (lock.type === "held" || lock.type === "unreadable" || lock.type === "unsupported" ||
      (lock.type === "corrupted" && lock.blocking))
  ) {
    outcome = { kind: "held" };
  } else if (ahead.length > 0) {
    outcome = { kind: "queued", ahead: ahead.length };
  } else {
    outcome = lock === undefined ? { kind: "free" } : { kind: "takeover" };
  }

  const reasons: WhyReason[] = [];
  if (freeze !== undefined) reasons.push(freeze);
  if (lock !== undefined) reasons.push(lock);
  if (ahead.length > 0 && outcome.kind !== "self-held") {
    const first = ahead[0].ticket;
    reasons.push({
      type: "queued",
      message:
        `${ahead.length} waiter(s) queued ahead of you; first ${first.owner} (PID ${first.pid}), waiting ${
          formatDuration(ahead[0].waitingMs)
        }`,
      ahead,
    });
  }

  const queued = reasons.find((r) => r.type === "queued");
  let cause: WhyReason | undefined;
  switch (outcome.kind) {
    case "free":
      cause = undefined;
      break;
    case "frozen":
      cause = freeze;
      break;
    case "queued":
      cause = queued;
      break;
    case "self-held":
    case "held":
    case "takeover":
      cause = lock;
      break;
  }

  const seen = [obs.lock, ...(view?.seats ?? []).map((s) => s.seen)];
  const lockFence = Math.max(0, ...seen.map((r) => r.kind === "ok" ? r.record.fence : 0));
  const fence = Math.max(obs.fence, lockFence);
  const acquirable = outcome.kind === "free" || outcome.kind === "takeover" ||
    outcome.kind === "self-held";
  return {
    name: obs.name,
    outcome,
    acquirable,
    headline: headline(obs.name, outcome),
    cause,
    reasons,
    suggestions: suggestionsFor(obs, reasons, outcome),
    fence,
    nextFence: fence + 1,
    waiters,
    rootExists: obs.rootExists,
    nowMs: obs.nowMs,
    ...(view === undefined ? {} : { slots: view }),
  };
}
