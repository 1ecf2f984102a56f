/**
 * The audit log as a table: each row holds the JSON line the file backend would append
 * (`encodeEvent`), with its time on the database's clock, plus the columns the filters use.
 * Old rows are removed after the retention period.
 *
 * Race: ids are handed out before commit, so a row with a lower id can become visible after a
 * higher one was read. A follower therefore remembers the oldest transaction still running at
 * its last read (`pg_snapshot_xmin`): every row it has not seen yet was written by that
 * transaction or a later one, so it re-reads from there and skips the ids it already showed.
 */

import {
  type AuditEvent,
  decodeEventLine,
  encodeEvent,
  type LoggedEvent,
} from "../../audit/event.ts";
import type { AuditFilter } from "../../audit/reader.ts";
import type { AuditStore } from "../backend.ts";
import type { Fragment, PendingQuery, Row, Sql } from "./client.ts";

/** Default retention of audit rows: 30 days. */
export const DEFAULT_AUDIT_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** How often a follower looks without a notification. */
export const AUDIT_FOLLOW_POLL_MS = 1_000;

/** The channel that announces new audit rows (payload: the namespace). */
export const AUDIT_CHANNEL = "lokt_audit";

/** The audit table of one namespace. */
export class PostgresAudit implements AuditStore {
  readonly #sql: Sql;
  readonly #namespace: string;
  readonly #fault: (error: unknown) => unknown;
  /** Told of appends that failed (the operation that made them stands). */
  onAppendError: (error: unknown) => void = () => {};

  constructor(sql: Sql, namespace: string, fault: (error: unknown) => unknown) {
    this.#sql = sql;
    this.#namespace = namespace;
    this.#fault = fault;
  }

  /**
   * The statements that write `events` on `sql` (in their order) and announce them. With
   * `guard`, a condition that holds only inside the name's transaction, they write nothing
   * elsewhere.
   */
  inserts(sql: Sql, events: readonly AuditEvent[], guard?: Fragment): PendingQuery<Row[]>[] {
    if (events.length === 0) return [];
    const ns = this.#namespace;
    const rows = events.map((e) => ({
      namespace: ns,
      ts: new Date(e.ts),
      event: e.event,
      name: e.name,
      owner: e.actor.owner,
      line: encodeEvent(e).trimEnd(),
    }));
    if (guard === undefined) {
      return [
        sql`insert into lokt.audit ${
          sql(rows, "namespace", "ts", "event", "name", "owner", "line")
        }`,
        sql`select pg_notify(${AUDIT_CHANNEL}, ${ns})`,
      ];
    }
    return [
      ...rows.map((r) =>
        sql`insert into lokt.audit (namespace, ts, event, name, owner, line)
            select ${r.namespace}::text, ${r.ts}::timestamptz, ${r.event}::text, ${r.name}::text,
                   ${r.owner}::text, ${r.line}::text
            where ${guard}`
      ),
      sql`select pg_notify(${AUDIT_CHANNEL}, ${ns}) where ${guard}`,
    ];
  }

  /** Appends events stamped with the database's clock; failures go to `onAppendError`. */
  async append(events: readonly AuditEvent[]): Promise<void> {
    try {
      const [{ now_ms }] = await this.#sql`
        select (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms`;
      const ts = Math.floor(Number(now_ms));
      await Promise.all(this.inserts(this.#sql, events.map((e) => ({ ...e, ts }))));
    } catch (error) {
      this.onAppendError(this.#fault(error));
    }
  }

  #where(filter: AuditFilter) {
    const sql = this.#sql;
    const parts = [sql`namespace = ${this.#namespace}`];
    if (filter.sinceMs !== undefined) parts.push(sql`ts >= ${new Date(filter.sinceMs)}`);
    if (filter.untilMs !== undefined) parts.push(sql`ts <= ${new Date(filter.untilMs)}`);
    if (filter.name !== undefined) parts.push(sql`name = ${filter.name}`);
    if (filter.events !== undefined) {
      parts.push(filter.events.length === 0 ? sql`false` : sql`event in ${sql(filter.events)}`);
    }
    if (filter.owner !== undefined) parts.push(sql`owner = ${filter.owner}`);
    return parts.reduce((all, part) => sql`${all} and ${part}`);
  }

  /** The events that pass `filter`, oldest first. */
  async query(filter: AuditFilter): Promise<LoggedEvent[]> {
    try {
      const rows = await this.#sql`select line from lokt.audit where ${this.#where(filter)}
                                   order by id`;
      return rows.flatMap((r) => decodeEventLine(r.line as string) ?? []);
    } catch (error) {
      throw this.#fault(error);
    }
  }

  async #read(filter: AuditFilter, floor: string) {
    const [[{ xmin }], rows] = await Promise.all([
      this.#sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`,
      this.#sql`select id::text as id, line, xid::text as xid from lokt.audit
                where ${this.#where(filter)} and xid >= ${floor}::xid8 order by id`,
    ]);
    return { xmin: xmin as string, rows };
  }

  /**
   * Calls `onEvent` with each event committed after the call began, until `signal` aborts; with
   * `onHistory`, first calls it with the events visible when it began (the same read).
   */
  async follow(
    filter: AuditFilter,
    onEvent: (event: LoggedEvent) => void,
    signal: AbortSignal,
    onHistory?: (events: LoggedEvent[]) => void,
  ): Promise<void> {
    let wake: (() => void) | undefined;
    let listening: { unlisten(): Promise<void> } | undefined;
    try {
      listening = await this.#sql.listen(AUDIT_CHANNEL, (payload) => {
        if (payload === this.#namespace) wake?.();
      });
      // Rows visible now are history (the caller's query shows them); all later rows belong
      // to transactions at or after this xmin.
      const first = await this.#read(filter, "0");
      let floor = first.xmin;
      const shown = new Map<string, bigint>(
        first.rows.map((r) => [r.id as string, BigInt(r.xid as string)]),
      );
      onHistory?.(first.rows.flatMap((r) => decodeEventLine(r.line as string) ?? []));
      while (!signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, AUDIT_FOLLOW_POLL_MS);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            wake = undefined;
            resolve();
          }
          wake = done;
          signal.addEventListener("abort", done, { once: true });
        });
        if (signal.aborted) break;
        const read = await this.#read(filter, floor);
        for (const row of read.rows) {
          const id = row.id as string;
          if (shown.has(id)) continue;
          shown.set(id, BigInt(row.xid as string));
          const event = decodeEventLine(row.line as string);
          if (event !== undefined) onEvent(event);
        }
        floor = read.xmin;
        const settled = BigInt(floor);
        for (const [id, xid] of shown) if (xid < settled) shown.delete(id);
      }
    } catch (error) {
      throw this.#fault(error);
    } finally {
      await listening?.unlisten().catch(() => {});
    }
  }
}

/** Removes audit rows older than `retentionMs`, at most once an hour across all processes. */
export async function pruneAudit(sql: Sql, retentionMs: number): Promise<void> {
  await sql.begin(async (tx) => {
    const due = await tx`
      update lokt.meta set value = now()::text
      where key = 'audit_pruned_at' and value::timestamptz < now() - interval '1 hour'
      returning key`;
    const fresh = await tx`
      insert into lokt.meta (key, value) values ('audit_pruned_at', now()::text)
      on conflict (key) do nothing returning key`;
    if (due.length + fresh.length === 0) return;
    await tx`delete from lokt.audit where ts < now() - ${retentionMs / 1000} * interval '1 second'`;
  });
}
