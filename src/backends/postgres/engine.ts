/**
 * The PostgreSQL backend: every change of a name is one transaction that first takes the name's
 * transaction-scoped advisory lock (the critical section), then reads the name's state with the
 * database's clock, decides with the shared pure rules, writes, records its audit events and
 * notifies listeners, all committed together. The advisory lock is released by the commit, or
 * by the server when the connection drops.
 */

import type { Actor, EventName } from "../../audit/event.ts";
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
import { type ProcessProbe, processState } from "../../identity/process.ts";
import { newLockId } from "../../locks/context.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import { holdRecord } from "../../locks/acquire.ts";
import { freezeRecord } from "../../locks/freeze.ts";
import { assertValidName } from "../../locks/name.ts";
import { TICKET_STALL_MS } from "../../locks/queue.ts";
import { judge, type JudgeContext, scopeOf } from "../../locks/stale.ts";
import { PostgresAudit } from "./audit.ts";
import { connectProblem, isConnectionFault, type Sql } from "./client.ts";
import { activeFreeze, claimHolds, decideAcquire, type TicketState } from "./decide.ts";
import { BackendUnavailableError } from "./errors.ts";
import { recordJson, stateOf, stateQuery } from "./state.ts";
import { CHANGE_CHANNEL, NameTransactions, type Section, type Write } from "./transaction.ts";
import type { ConnectionSettings } from "./url.ts";
import { Notifications } from "./watch.ts";

/** A remote waiter whose heartbeat is older than this is gone: its ticket is removed. */
export const REMOTE_TICKET_DEAD_MS = 30_000;

/** What the backend needs from the world besides the database. */
export interface EngineOptions {
  namespace: string;
  /** Judges holders and waiters that run on this machine. */
  probe: ProcessProbe;
  /** Who acts, as written to the audit log. */
  actor: Actor;
  /** Audit rows older than this are removed (default 30 days). */
  auditRetentionMs?: number;
  /** A name's transaction that has not finished after this long is abandoned (default 10 s). */
  operationTimeoutMs?: number;
  /** A new client for the names' connection, to replace one that stopped answering. */
  reconnect: () => Sql;
  /** Where the choice of this backend came from, for people (see {@link BackendInfo}). */
  source?: string;
  /** Where the namespace came from, for people. */
  namespaceSource?: string;
}

/** The PostgreSQL implementation of {@link Backend}. */
export class PostgresBackend implements Backend {
  readonly info: BackendInfo;
  readonly audit: AuditStore & PostgresAudit;
  readonly #transactions: NameTransactions;
  /** Everything but the names' transactions: queue, snapshots, audit reads. */
  readonly #sql: Sql;
  readonly #settings: ConnectionSettings;
  readonly #options: EngineOptions;
  readonly #notifications: Notifications;

  constructor(ops: Sql, sql: Sql, settings: ConnectionSettings, options: EngineOptions) {
    this.#sql = sql;
    this.#settings = settings;
    this.#options = options;
    this.info = {
      kind: "postgres",
      location: settings.display,
      namespace: options.namespace,
      source: options.source,
      namespaceSource: options.namespaceSource,
    };
    this.#notifications = new Notifications(sql, CHANGE_CHANNEL, options.namespace);
    this.audit = new PostgresAudit(sql, options.namespace, (e) => this.#fault(e));
    this.#transactions = new NameTransactions(ops, {
      ...options,
      audit: this.audit,
      fault: (e) => this.#fault(e),
      display: settings.display,
    });
  }

  /** A connection fault as a typed error; anything else unchanged. */
  #fault(error: unknown): unknown {
    if (!isConnectionFault(error)) return error;
    return new BackendUnavailableError(
      this.#settings.display,
      connectProblem(error, this.#settings),
      { cause: error },
    );
  }

  #judgeContext(nowMs: number): JudgeContext {
    const probe = this.#options.probe;
    return {
      nowMs,
      machine: probe.machine(),
      processState: (ref) => processState(probe, ref.pid, ref.start),
      carrier: (lockId) => probe.environmentCarrier("LOKT_LOCK_ID", lockId),
    };
  }

  #judged(state: NameState): JudgedHolder[] {
    const ctx = this.#judgeContext(state.nowMs);
    return state.holders.map((h) => ({ ...h, verdict: judge(h.record, ctx) }));
  }

  #ticketState(nowMs: number): (ticket: QueueTicket) => TicketState {
    const probe = this.#options.probe;
    return (ticket) => {
      const scope = scopeOf(ticket, probe.machine());
      if (scope === "rebooted") return "dead";
      if (scope === "local" && processState(probe, ticket.pid, ticket.start) === "dead") {
        return "dead";
      }
      const silentMs = nowMs - ticket.beatMs;
      if (scope === "remote" && silentMs > REMOTE_TICKET_DEAD_MS) return "dead";
      return silentMs > TICKET_STALL_MS ? "stalled" : "waiting";
    };
  }

  /** Runs `act` in `name`'s critical section (see {@link NameTransactions}). */
  #inName<T>(name: string, act: (section: Section) => T): Promise<T> {
    assertValidName(name);
    return this.#transactions.run(name, act);
  }

  #newRecord(req: AcquireRequest, nowMs: number, fence: number): LockRecord {
    return holdRecord(req, this.#options.probe.machine(), nowMs, fence, req.lockId ?? newLockId());
  }

  /** Takes a slot of `req.name`, or reports what stands in the way. */
  acquire(req: AcquireRequest): Promise<AcquireResult> {
    return this.#inName(req.name, (section): AcquireResult => {
      const { state, writes, events } = section;
      const holders = this.#judged(state);
      const ticketState = this.#ticketState(state.nowMs);
      const dead = state.waiters.filter((t) => ticketState(t) === "dead");
      if (dead.length > 0) {
        const seqs = dead.map((t) => t.seq);
        writes.push((c, g) => c`delete from lokt.tickets where seq in ${c(seqs)} and ${g}`);
        state.waiters = state.waiters.filter((t) => !dead.includes(t));
      }
      const decision = decideAcquire(state, holders, req, ticketState);
      // As the file engine does: an attempt that gets as far as the freeze removes an expired
      // one and records its expiry, whatever it is answered.
      const passedFreeze = decision.kind !== "repeated" && decision.kind !== "nested" &&
        decision.kind !== "reenter";
      if (passedFreeze && state.freeze !== undefined && activeFreeze(state) === undefined) {
        this.#expireFreeze(section, req.name, state.freeze);
      }
      const deny = (extra: Record<string, unknown>) => {
        if (req.denyEvent) events.push({ event: req.denyEvent, ttlMs: req.ttlMs, extra });
      };
      switch (decision.kind) {
        case "repeated":
          if (req.ticket !== undefined) this.#dropTicket(writes, req.ticket);
          return { kind: "acquired", holder: strip(decision.holder), replaced: [] };
        case "nested":
          return { kind: "nested", holder: strip(decision.holder) };
        case "reenter":
          return { kind: "reentered", holder: this.#reenter(section, req, decision.holder) };
        case "frozen":
          if (req.denyEvent) {
            events.push({
              event: "freeze-deny",
              extra: {
                freeze_owner: decision.freeze.owner,
                freeze_reason: decision.freeze.reason ?? "",
                waiting: req.denyEvent === "wait",
              },
            });
          }
          return decision;
        case "slots-mismatch":
          deny({ slots: req.slots ?? 1, held_with_slots: decision.slots });
          return decision;
        case "held":
          deny(holderExtra(decision.holders[0].record));
          return { ...decision, nowMs: state.nowMs };
        case "queued":
          deny({ queued_ahead: decision.ahead.length });
          return decision;
        case "take":
          return this.#take(section, req, decision.slot, decision.slots, decision.stale);
      }
    });
  }

  #take(
    { state, writes, events }: Section,
    req: AcquireRequest,
    slot: number,
    slots: number,
    stale: JudgedHolder[],
  ): AcquireResult {
    const { namespace } = this.#options;
    const name = req.name;
    // The name's fence counter, read under its lock, is raised in the acquiring transaction:
    // strictly increasing, and durable together with the holder row that carries it.
    // A slot holder's record says which slot of how many, as a slot file does on files (the
    // commands print it, a guarded command gets it as LOKT_SLOT); a plain lock's says nothing.
    const record: LockRecord = {
      ...this.#newRecord(req, state.nowMs, state.fence + 1),
      ...(slots > 1 ? { slot, slots } : {}),
    };
    writes.push(
      (c, g) =>
        c`insert into lokt.names (namespace, name, slots, fence)
          select ${namespace}::text, ${name}::text, ${slots}::integer, ${record.fence}::bigint
          where ${g}
          on conflict (namespace, name) do update set fence = excluded.fence, slots = excluded.slots`,
    );
    if (stale.length > 0) this.#remove(writes, name, stale);
    writes.push(
      (c, g) =>
        c`insert into lokt.holders (namespace, name, lock_id, slot, record, expires_at)
          select ${namespace}::text, ${name}::text, ${record.lockId}::text, ${slot}::integer,
                 ${recordJson(record)}::text::jsonb, ${expiresAt(record)}::timestamptz
          where ${g}`,
    );
    if (req.ticket !== undefined) this.#dropTicket(writes, req.ticket);
    for (const h of stale) {
      events.push({
        event: "auto-prune",
        lockId: h.record.lockId,
        ttlMs: req.ttlMs,
        fence: h.record.fence,
        extra: { reason: h.verdict.reason, ...holderExtra(h.record), slot: h.slot },
      });
    }
    events.push({
      event: "acquire",
      lockId: record.lockId,
      ttlMs: record.ttlMs,
      fence: record.fence,
      extra: { ...(stale.length > 0 ? { took_over: true } : {}), slot, slots },
    });
    return { kind: "acquired", holder: { slot, record }, replaced: stale };
  }

  #reenter({ state, writes, events }: Section, req: AcquireRequest, current: JudgedHolder): Holder {
    const ttlMs = req.ttlMs ?? current.record.ttlMs;
    const proc = req.claim.process;
    const record: LockRecord = {
      ...current.record,
      pid: proc?.pid ?? current.record.pid,
      pidStart: proc ? proc.start : current.record.pidStart,
      pidSource: proc ? proc.source : current.record.pidSource,
      renewedMs: state.nowMs,
      ttlMs,
      expiresMs: ttlMs === undefined ? undefined : state.nowMs + ttlMs,
    };
    this.#rewrite(writes, req.name, record);
    if (req.ticket !== undefined) this.#dropTicket(writes, req.ticket);
    events.push({
      event: "renew",
      lockId: record.lockId,
      ttlMs,
      fence: record.fence,
      extra: { reentry: true },
    });
    return { slot: current.slot, record };
  }

  #rewrite(writes: Write[], name: string, record: LockRecord): void {
    const namespace = this.#options.namespace;
    writes.push(
      (c, g) =>
        c`update lokt.holders set record = ${recordJson(record)}::text::jsonb,
            expires_at = ${expiresAt(record)}::timestamptz
          where namespace = ${namespace} and name = ${name} and lock_id = ${record.lockId}
            and ${g}`,
    );
  }

  #remove(writes: Write[], name: string, holders: Holder[]): void {
    const namespace = this.#options.namespace;
    const ids = holders.map((h) => h.record.lockId);
    writes.push(
      (c, g) =>
        c`delete from lokt.holders
          where namespace = ${namespace} and name = ${name} and lock_id in ${c(ids)} and ${g}`,
    );
  }

  #dropTicket(writes: Write[], ticket: QueueTicket): void {
    writes.push((c, g) => c`delete from lokt.tickets where seq = ${ticket.seq} and ${g}`);
  }

  /** Releases or breaks holds of `req.name`. */
  release(req: ReleaseRequest): Promise<ReleaseResult> {
    if (req.lockId !== undefined && req.mode !== "owner") {
      return Promise.reject(
        new TypeError("a break removes holders by judgement: it takes no lockId"),
      );
    }
    return this.#inName(req.name, ({ state, writes, events }): ReleaseResult => {
      const holders = this.#judged(state);
      const remove = (event: EventName, chosen: JudgedHolder[], withVerdict: boolean) => {
        this.#remove(writes, req.name, chosen);
        for (const h of chosen) {
          events.push({
            event,
            lockId: h.record.lockId,
            ttlMs: h.record.ttlMs,
            fence: h.record.fence,
            extra: {
              slot: h.slot,
              ...(withVerdict ? { ...holderExtra(h.record), verdict: h.verdict.reason } : {}),
            },
          });
        }
      };
      if (req.lockId !== undefined && req.mode === "owner") {
        const own = holders.find((h) => h.record.lockId === req.lockId);
        if (own === undefined) return { kind: "gone" };
        remove("release", [own], false);
        return { kind: "released", holder: strip(own) };
      }
      if (holders.length === 0) return { kind: "not-found" };
      const nested = holders.find((h) =>
        req.enclosingLockId !== undefined && h.record.lockId === req.enclosingLockId
      );
      if (nested !== undefined && req.mode === "owner") {
        return { kind: "nested", holder: strip(nested) };
      }
      switch (req.mode) {
        case "owner": {
          const own = holders.find((h) => h.record.kind === "lock" && claimHolds(h, req.claim));
          if (own === undefined) return { kind: "not-owner", holders };
          remove("release", [own], false);
          return { kind: "released", holder: strip(own) };
        }
        case "break-stale": {
          const stale = holders.filter((h) => h.verdict.kind === "stale");
          if (stale.length === 0) return { kind: "not-stale", holders };
          remove("stale-break", stale, true);
          return { kind: "broken", how: "stale", holders: stale, count: stale.length };
        }
        case "force":
          remove("force-break", holders, true);
          return { kind: "broken", how: "force", holders, count: holders.length };
      }
    });
  }

  /** Extends the lease of one exact hold by its TTL from the database's now. */
  renew(req: RenewRequest): Promise<RenewResult> {
    return this.#inName(req.name, ({ state, writes, events }): RenewResult => {
      const current = state.holders.find((h) => h.record.lockId === req.lockId);
      if (current === undefined) return { kind: "lost" };
      const ttlMs = current.record.ttlMs;
      const record: LockRecord = {
        ...current.record,
        renewedMs: state.nowMs,
        ttlMs,
        expiresMs: ttlMs === undefined ? undefined : state.nowMs + ttlMs,
        child: req.child ?? current.record.child,
      };
      this.#rewrite(writes, req.name, record);
      events.push({ event: "renew", lockId: record.lockId, ttlMs, fence: record.fence });
      return { kind: "renewed", holder: { slot: current.slot, record } };
    });
  }

  /** Freezes a name, or extends its owner's freeze. */
  freeze(req: FreezeRequest): Promise<FreezeResult> {
    return this.#inName(req.name, (section): FreezeResult => {
      const { state, writes, events } = section;
      const now = state.nowMs;
      const existing = activeFreeze(state);
      if (existing === undefined && state.freeze !== undefined) {
        this.#expireFreeze(section, req.name, state.freeze);
      }
      if (existing !== undefined && existing.owner !== req.owner) {
        return { kind: "held", freeze: existing };
      }
      const record = freezeRecord(req, existing, now);
      const namespace = this.#options.namespace;
      writes.push(
        (c, g) =>
          c`insert into lokt.names (namespace, name, freeze_record)
            select ${namespace}::text, ${req.name}::text, ${recordJson(record)}::text::jsonb
            where ${g}
            on conflict (namespace, name) do update set freeze_record = excluded.freeze_record`,
      );
      events.push({
        event: "freeze",
        lockId: record.lockId,
        ttlMs: req.ttlMs,
        extra: { reason: record.reason ?? "", extended: existing !== undefined },
      });
      return { kind: existing === undefined ? "frozen" : "extended", freeze: record };
    });
  }

  /** Removes `freeze`, which has expired, in `section`'s transaction. */
  #expireFreeze({ writes, events }: Section, name: string, freeze: LockRecord): void {
    const namespace = this.#options.namespace;
    writes.push(
      (c, g) =>
        c`update lokt.names set freeze_record = null
          where namespace = ${namespace} and name = ${name} and ${g}`,
    );
    events.push({
      event: "freeze-expire",
      lockId: freeze.lockId,
      ttlMs: freeze.ttlMs,
      extra: { freeze_owner: freeze.owner },
    });
  }

  /** Lifts a freeze. */
  unfreeze(req: UnfreezeRequest): Promise<UnfreezeResult> {
    return this.#inName(req.name, (section): UnfreezeResult => {
      const { state, writes, events } = section;
      if (state.freeze !== undefined && activeFreeze(state) === undefined) {
        // As on files: lifting an expired freeze removes it, recorded as its expiry.
        this.#expireFreeze(section, req.name, state.freeze);
        return { kind: "unfrozen", freeze: state.freeze, forced: false };
      }
      const current = activeFreeze(state);
      if (current === undefined) return { kind: "not-found" };
      const forced = current.owner !== req.owner;
      if (forced && !req.force) return { kind: "not-owner", freeze: current };
      const namespace = this.#options.namespace;
      writes.push(
        (c, g) =>
          c`update lokt.names set freeze_record = null
            where namespace = ${namespace} and name = ${req.name} and ${g}`,
      );
      events.push({
        event: forced ? "force-unfreeze" : "unfreeze",
        lockId: current.lockId,
        extra: {
          freeze_owner: current.owner,
          ...(req.reason === undefined ? {} : { reason: req.reason }),
        },
      });
      return { kind: "unfrozen", freeze: current, forced };
    });
  }

  /** Takes a ticket at the end of `name`'s queue. */
  async joinQueue(name: string, waiter: Waiter): Promise<QueueTicket> {
    assertValidName(name);
    try {
      const [row] = await this.#sql`
        insert into lokt.tickets (namespace, name, waiter)
        values (${this.#options.namespace}, ${name}, ${JSON.stringify(waiter)}::text::jsonb)
        returning seq::text as seq, (extract(epoch from since) * 1000)::float8 as since_ms`;
      const sinceMs = Math.floor(Number(row.since_ms));
      return { ...waiter, seq: Number(row.seq), sinceMs, beatMs: sinceMs };
    } catch (error) {
      throw this.#fault(error);
    }
  }

  /** Refreshes a ticket's heartbeat; false when it was removed. */
  async beat(_name: string, ticket: QueueTicket): Promise<boolean> {
    try {
      const rows = await this.#sql`update lokt.tickets set beat_at = now()
                                   where seq = ${ticket.seq} returning seq`;
      return rows.length > 0;
    } catch (error) {
      throw this.#fault(error);
    }
  }

  /** Removes a ticket and wakes the waiters behind it. */
  async leaveQueue(name: string, ticket: QueueTicket): Promise<void> {
    try {
      await this.#sql`
        with gone as (delete from lokt.tickets where seq = ${ticket.seq} returning seq)
        select pg_notify(${CHANGE_CHANNEL}, ${`${this.#options.namespace}\n${name}`}) from gone`;
    } catch (error) {
      throw this.#fault(error);
    }
  }

  /** Counts the committed changes of `name` from now on. */
  async watch(name: string): Promise<Watch> {
    try {
      return await this.#notifications.watch(name);
    } catch (error) {
      throw this.#fault(error);
    }
  }

  /** A snapshot of one name, outside its critical section. */
  async observe(name: string): Promise<NameState> {
    assertValidName(name);
    try {
      return stateOf(name, await stateQuery(this.#sql, this.#options.namespace, name));
    } catch (error) {
      throw this.#fault(error);
    }
  }

  /** The names of this namespace with holders, a freeze or waiters. */
  async names(): Promise<string[]> {
    const ns = this.#options.namespace;
    try {
      const rows = await this.#sql`
        select name from lokt.holders where namespace = ${ns}
        union select name from lokt.names where namespace = ${ns} and freeze_record is not null
        union select name from lokt.tickets where namespace = ${ns}
        order by name`;
      return rows.map((r) => r.name as string);
    } catch (error) {
      throw this.#fault(error);
    }
  }

  /** Closes the pool and the listening connection, giving what is in flight `waitMs`. */
  async close(options: { waitMs?: number } = {}): Promise<void> {
    const timeout = (options.waitMs ?? 1_000) / 1_000;
    this.#notifications.close();
    await Promise.all([this.#transactions.end(timeout), this.#sql.end({ timeout })]);
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function strip(holder: JudgedHolder): Holder {
  return { slot: holder.slot, record: holder.record };
}

function expiresAt(record: LockRecord): Date | null {
  return record.expiresMs === undefined ? null : new Date(record.expiresMs);
}

function holderExtra(record: LockRecord): Record<string, unknown> {
  return {
    holder_owner: record.owner,
    holder_host: record.host,
    holder_pid: record.pid,
    holder_agent_id: record.agentId,
    holder_lock_id: record.lockId,
  };
}
