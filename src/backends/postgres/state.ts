/**
 * Reading a name's state inside its critical section, and the records in and out of their
 * columns. Holder and freeze records are stored as the lock file's JSON (`encodeLock`), so every
 * reader judges them with the same pure rules.
 */

import type { Holder, NameState, QueueTicket, Waiter } from "../backend.ts";
import { LoktError } from "../../errors.ts";
import { decodeLock, encodeLock, type LockRecord } from "../../locks/lockfile.ts";
import type { PendingQuery, Row, Sql } from "./client.ts";

/** A record as the `jsonb` column holds it. */
export function recordJson(record: LockRecord): string {
  return encodeLock(record);
}

/** A record read back from its column; a row lokt cannot read is a corrupt database. */
export function recordOf(json: unknown, where: string): LockRecord {
  const decoded = decodeLock(typeof json === "string" ? json : JSON.stringify(json));
  if (decoded.kind === "ok") return decoded.lock;
  const problem = decoded.kind === "corrupt"
    ? decoded.problem
    : decoded.kind === "unsupported"
    ? `record version ${decoded.version}`
    : "empty";
  throw new LoktError("corrupt", `unreadable ${where} in the lock database: ${problem}`);
}

function ticketOf(row: Record<string, unknown>): QueueTicket {
  const waiter = row.waiter as Waiter;
  return {
    seq: Number(row.seq),
    pid: waiter.pid,
    start: waiter.start ?? undefined,
    host: waiter.host,
    bootId: waiter.bootId ?? undefined,
    pidNs: waiter.pidNs ?? undefined,
    owner: waiter.owner,
    agentId: waiter.agentId,
    sinceMs: Number(row.since_ms),
    beatMs: Number(row.beat_ms),
  };
}

/** The query that reads the state of `name`; {@link stateOf} reads its row. */
export function stateQuery(sql: Sql, namespace: string, name: string): PendingQuery<Row[]> {
  return sql`
    select (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms,
      coalesce(n.slots, 1) as slots, coalesce(n.fence, 0)::text as fence,
      n.freeze_record::text as freeze,
      (select coalesce(json_agg(json_build_object('slot', h.slot, 'record', h.record)
                                order by h.slot), '[]')::text
         from lokt.holders h where h.namespace = ${namespace} and h.name = ${name}) as holders,
      (select coalesce(json_agg(json_build_object('seq', t.seq, 'waiter', t.waiter,
                  'since_ms', extract(epoch from t.since) * 1000,
                  'beat_ms', extract(epoch from t.beat_at) * 1000) order by t.seq), '[]')::text
         from lokt.tickets t where t.namespace = ${namespace} and t.name = ${name}) as waiters
    from (select 1) as one
    left join lokt.names n on n.namespace = ${namespace} and n.name = ${name}`;
}

/**
 * The state of `name` from its row, on the database's clock. Read within the critical section
 * this is the state the decision acts on; outside it, a snapshot.
 */
export function stateOf(name: string, rows: readonly Row[]): NameState {
  const row = rows[0];
  const holders = (JSON.parse(row.holders as string) as { slot: number; record: unknown }[]).map(
    (h): Holder => ({ slot: h.slot, record: recordOf(h.record, `holder of ${name}`) }),
  );
  return {
    name,
    nowMs: Math.floor(Number(row.now_ms)),
    slots: Number(row.slots),
    holders,
    freeze: row.freeze === null ? undefined : recordOf(row.freeze, `freeze of ${name}`),
    waiters: (JSON.parse(row.waiters as string) as Record<string, unknown>[]).map(ticketOf),
    fence: Number(row.fence),
  };
}
