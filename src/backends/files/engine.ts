/**
 * The file backend: the {@link Backend} interface over the file engine of `src/locks/`, which
 * keeps every rule, race comment and on-disk format. This module only translates: requests into
 * the engine's, outcomes into the interface's results (slots numbered 1 to N, as the lock files
 * number them), the engine's slot-count refusal into a result. Each operation runs in the name's
 * critical section as the engine takes it (the name's kernel lock).
 */

import type {
  AcquireRequest,
  AcquireResult,
  AuditStore,
  Backend,
  BackendInfo,
  FreezeRequest,
  FreezeResult,
  Holder,
  JudgedHolder,
  NameState,
  QueueTicket,
  ReleaseRequest,
  ReleaseResult,
  RenewRequest,
  RenewResult,
  UnfreezeRequest,
  UnfreezeResult,
  Waiter,
  Watch,
} from "../backend.ts";
import type { AuditEvent, LoggedEvent } from "../../audit/event.ts";
import { followAudit } from "../../audit/follow.ts";
import { type AuditFilter, readAudit } from "../../audit/reader.ts";
import { type AcquireOutcome, tryAcquire } from "../../locks/acquire.ts";
import { judgeNow, type LockContext } from "../../locks/context.ts";
import { SlotsMismatchError } from "../../locks/errors.ts";
import { freeze, unfreeze } from "../../locks/freeze.ts";
import { listAll } from "../../locks/inspect.ts";
import { freezePath, queueDir } from "../../locks/layout.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import { withNameMutex } from "../../locks/mutex.ts";
import { assertValidName, nameProblem } from "../../locks/name.ts";
import { readFenceCounter } from "../../locks/observe.ts";
import {
  beat,
  joinQueue,
  leaveQueue,
  listQueue,
  type Ticket,
  ticketName,
} from "../../locks/queue.ts";
import { lockNames, release } from "../../locks/release.ts";
import { renew } from "../../locks/renew.ts";
import { readSeats, type Seat, slottedNames } from "../../locks/slots.ts";
import { readRecord } from "../../locks/store.ts";
import { watchName } from "./watch.ts";

/** A holder in the interface's shape: its slot is 1 for a plain lock file. */
function holderOf(lock: LockRecord): Holder {
  return { slot: lock.slot ?? 1, record: lock };
}

function seatSlot(seat: Seat): number {
  return seat.plain ? 1 : seat.slot;
}

function queueTicket(ticket: Ticket): QueueTicket {
  const { path: _path, left: _left, ...rest } = ticket;
  return rest;
}

/** The audit log in `audit.log` (and its rotated files), as an {@link AuditStore}. */
class FileAudit implements AuditStore {
  readonly #ctx: LockContext;

  constructor(ctx: LockContext) {
    this.#ctx = ctx;
  }

  append(events: readonly AuditEvent[]): Promise<void> {
    for (const event of events) this.#ctx.audit.append(event);
    return Promise.resolve();
  }

  query(filter: AuditFilter): Promise<LoggedEvent[]> {
    return Promise.resolve(readAudit(this.#ctx.layout.audit, { filter }).events);
  }

  follow(
    filter: AuditFilter,
    onEvent: (event: LoggedEvent) => void,
    signal: AbortSignal,
    onHistory?: (events: LoggedEvent[]) => void,
  ): Promise<void> {
    const path = this.#ctx.layout.audit;
    const read = readAudit(path, { filter, limit: onHistory === undefined ? 0 : undefined });
    onHistory?.(read.events);
    const from = read.end;
    return followAudit(path, from, { filter, onEvent, signal });
  }
}

/** The file implementation of {@link Backend}. */
export class FilesBackend implements Backend {
  readonly info: BackendInfo;
  readonly audit: AuditStore;
  readonly #ctx: LockContext;
  /** The tickets this backend handed out, with their files, by name and number. */
  readonly #tickets = new Map<string, Ticket>();

  constructor(ctx: LockContext, options: { source?: string } = {}) {
    this.#ctx = ctx;
    this.info = { kind: "files", location: ctx.layout.root, source: options.source };
    this.audit = new FileAudit(ctx);
  }

  #judged(lock: LockRecord): JudgedHolder {
    return { ...holderOf(lock), verdict: judgeNow(this.#ctx, lock) };
  }

  /** The engine's ticket (with its file) for a ticket this interface carries. */
  #ticketFile(name: string, ticket: QueueTicket): Ticket {
    return this.#tickets.get(`${name}/${ticket.seq}`) ??
      { ...ticket, path: `${queueDir(this.#ctx.layout, name)}/${ticketName(ticket.seq)}` };
  }

  /** Takes a slot of `req.name`, or reports what stands in the way. */
  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    let outcome: AcquireOutcome;
    try {
      outcome = await tryAcquire(this.#ctx, {
        name: req.name,
        kind: req.kind,
        claim: req.claim,
        ttlMs: req.ttlMs,
        command: req.command,
        client: req.client,
        enclosingLockId: req.enclosingLockId,
        ticket: req.ticket === undefined ? undefined : this.#ticketFile(req.name, req.ticket),
        denyEvent: req.denyEvent,
        slots: req.slots,
      });
    } catch (error) {
      // The engine refuses another N as an error; the interface reports it as a result.
      if (error instanceof SlotsMismatchError && error.currentSlots !== undefined) {
        return { kind: "slots-mismatch", slots: error.currentSlots };
      }
      throw error;
    }
    if (req.ticket !== undefined && (outcome.kind === "acquired" || outcome.kind === "reentered")) {
      this.#tickets.delete(`${req.name}/${req.ticket.seq}`); // the engine removed its file
    }
    switch (outcome.kind) {
      case "acquired": {
        const holder = holderOf(outcome.lock);
        const replaced = outcome.replaced?.kind === "stale"
          ? [{
            slot: holder.slot,
            record: outcome.replaced.lock,
            verdict: outcome.replaced.verdict,
          }]
          : [];
        return { kind: "acquired", holder, replaced };
      }
      case "reentered":
        return { kind: "reentered", holder: holderOf(outcome.lock) };
      case "nested":
        return { kind: "nested", holder: holderOf(outcome.lock) };
      case "frozen":
        return { kind: "frozen", freeze: outcome.freeze };
      case "queued":
        return { kind: "queued", ahead: outcome.ahead.map(queueTicket) };
      case "held":
        return this.#held(req.name, outcome);
    }
  }

  /**
   * The live holders behind a `held` outcome. The engine names the holder of the lowest slot;
   * the others are read right after the attempt, outside the critical section (for display).
   */
  #held(name: string, outcome: Extract<AcquireOutcome, { kind: "held" }>): AcquireResult {
    const nowMs = this.#ctx.now();
    const holders: JudgedHolder[] = [];
    for (const seat of readSeats(this.#ctx.layout, name, nowMs)) {
      if (seat.state.kind !== "ok") continue;
      const judged = this.#judged(seat.state.lock);
      if (judged.verdict.kind === "live") holders.push({ ...judged, slot: seatSlot(seat) });
    }
    const { blocker } = outcome;
    if (blocker.kind === "unreadable") {
      return { kind: "held", holders, nowMs, unreadable: blocker.state.problem };
    }
    if (!holders.some((h) => h.record.lockId === blocker.lock.lockId)) {
      holders.unshift({ ...holderOf(blocker.lock), verdict: blocker.verdict });
    }
    return { kind: "held", holders, nowMs };
  }

  /** Releases or breaks holds of `req.name`. */
  async release(req: ReleaseRequest): Promise<ReleaseResult> {
    if (req.lockId !== undefined && req.mode !== "owner") {
      throw new TypeError("a break removes holders by judgement: it takes no lockId");
    }
    const outcome = await release(this.#ctx, {
      name: req.name,
      mode: req.mode,
      claim: req.claim,
      lockId: req.lockId,
      enclosingLockId: req.enclosingLockId,
    });
    switch (outcome.kind) {
      case "released":
        return { kind: "released", holder: holderOf(outcome.lock) };
      case "nested":
        return { kind: "nested", holder: holderOf(outcome.lock) };
      case "broken":
        return {
          kind: "broken",
          how: outcome.how,
          holders: [{ ...holderOf(outcome.lock), verdict: outcome.verdict }],
          count: outcome.count ?? 1,
        };
      case "removed-unreadable":
        return { kind: "removed-unreadable", problem: outcome.problem };
      case "unreadable":
        return { kind: "unreadable", problem: outcome.state.problem };
      case "not-found":
        return { kind: "not-found" };
      case "not-owner":
      case "not-stale":
        return {
          kind: outcome.kind,
          holders: [{ ...holderOf(outcome.lock), verdict: outcome.verdict }],
        };
      case "gone":
        return { kind: "gone" };
    }
  }

  /** Extends the lease of one exact hold by its TTL from now. */
  async renew(req: RenewRequest): Promise<RenewResult> {
    assertValidName(req.name);
    // Where the hold's file is: a hold never moves between slots, so looking outside the
    // critical section is safe; the engine compares the lock id under the name's kernel lock.
    const seat = readSeats(this.#ctx.layout, req.name, this.#ctx.now()).find((s) =>
      s.state.kind === "ok" && s.state.lock.lockId === req.lockId
    );
    if (seat === undefined || seat.state.kind !== "ok") return { kind: "lost" };
    const outcome = await renew(this.#ctx, {
      name: req.name,
      lockId: req.lockId,
      child: req.child,
      slot: seat.state.lock.slot,
      slots: seat.state.lock.slots,
    });
    return outcome.kind === "renewed"
      ? { kind: "renewed", holder: holderOf(outcome.lock) }
      : { kind: "lost" };
  }

  /** Freezes a name, or extends its owner's freeze. */
  async freeze(req: FreezeRequest): Promise<FreezeResult> {
    const outcome = await freeze(this.#ctx, req);
    return outcome.kind === "unreadable"
      ? { kind: "unreadable", problem: outcome.state.problem }
      : outcome;
  }

  /** Lifts a freeze. */
  async unfreeze(req: UnfreezeRequest): Promise<UnfreezeResult> {
    const outcome = await unfreeze(this.#ctx, req);
    switch (outcome.kind) {
      case "removed-unreadable":
      case "unreadable":
        return { kind: outcome.kind, problem: outcome.state.problem };
      default:
        return outcome;
    }
  }

  /** Takes a ticket at the end of `name`'s queue. */
  async joinQueue(name: string, waiter: Waiter): Promise<QueueTicket> {
    assertValidName(name);
    const ticket = await withNameMutex(this.#ctx.layout, name, () =>
      joinQueue(this.#ctx, name, {
        pid: waiter.pid,
        start: waiter.start,
        owner: waiter.owner,
        agentId: waiter.agentId,
      }));
    this.#tickets.set(`${name}/${ticket.seq}`, ticket);
    return queueTicket(ticket);
  }

  /** Refreshes a ticket's heartbeat (its file's time); false when the file is gone. */
  beat(name: string, ticket: QueueTicket): Promise<boolean> {
    return Promise.resolve(beat(this.#ticketFile(name, ticket), this.#ctx.now()));
  }

  /** Removes a ticket's file. */
  leaveQueue(name: string, ticket: QueueTicket): Promise<void> {
    leaveQueue(this.#ticketFile(name, ticket));
    this.#tickets.delete(`${name}/${ticket.seq}`);
    return Promise.resolve();
  }

  /** Counts the changes of `name`'s files from now on. */
  watch(name: string): Promise<Watch> {
    assertValidName(name);
    return Promise.resolve(watchName(this.#ctx.layout, name));
  }

  /** A snapshot of one name's files, read without its kernel lock; nothing is written. */
  observe(name: string): Promise<NameState> {
    assertValidName(name);
    const nowMs = this.#ctx.now();
    const holders: Holder[] = [];
    for (const seat of readSeats(this.#ctx.layout, name, nowMs)) {
      if (seat.state.kind === "ok") holders.push({ slot: seatSlot(seat), record: seat.state.lock });
    }
    const frozen = readRecord(freezePath(this.#ctx.layout, name), nowMs);
    return Promise.resolve({
      name,
      nowMs,
      slots: holders.find((h) => h.record.slots !== undefined)?.record.slots ?? 1,
      holders,
      freeze: frozen.kind === "ok" ? frozen.lock : undefined,
      waiters: listQueue(this.#ctx, name).map(queueTicket),
      fence: readFenceCounter(this.#ctx, name),
    });
  }

  /** The names with a holder's file, a freeze file or a waiter's ticket, sorted. */
  names(): Promise<string[]> {
    const ctx = this.#ctx;
    const names = new Set([
      ...lockNames(ctx),
      ...slottedNames(ctx.layout),
      ...listAll(ctx).freezes.map((entry) => entry.name),
    ]);
    try {
      for (const entry of Deno.readDirSync(ctx.layout.queue)) {
        if (!entry.isDirectory || entry.isSymlink || nameProblem(entry.name) !== undefined) {
          continue;
        }
        if (listQueue(ctx, entry.name).length > 0) names.add(entry.name);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return Promise.resolve([...names].sort());
  }

  /** Nothing to close: every operation opens and closes its own files. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
