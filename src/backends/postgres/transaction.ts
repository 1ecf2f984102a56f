/**
 * A name's critical section on PostgreSQL: one transaction holding the name's advisory lock, on
 * the backend's own connection for names, one transaction at a time per process.
 */

import type { Actor, AuditEvent } from "../../audit/event.ts";
import type { NameState } from "../backend.ts";
import { haltPoint } from "../../testing/halt.ts";
import { type Cancel, timeout } from "../../timers.ts";
import { sabotaged } from "../../testing/sabotage.ts";
import type { PostgresAudit } from "./audit.ts";
import type { Fragment, PendingQuery, Row, Sql } from "./client.ts";
import { BackendUnavailableError } from "./errors.ts";
import { stateOf, stateQuery } from "./state.ts";

/** The channel on which every committed change of a name is announced. */
export const CHANGE_CHANNEL = "lokt";

/** Default {@link TransactionDeps.operationTimeoutMs}. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

/** An audit event of a name's transaction: time, name and actor are the transaction's. */
export type Event = Omit<AuditEvent, "ts" | "name" | "actor">;

/**
 * A write of a name's transaction, built when the transaction commits: on its connection, with
 * `guard`, a condition true only inside that transaction, in its WHERE clause.
 */
export type Write = (sql: Sql, guard: Fragment) => PendingQuery<Row[]>;

/** One name's critical section: its state, and what the transaction will write. */
export interface Section {
  state: NameState;
  writes: Write[];
  events: Event[];
}

/** What the transactions need from the backend. */
export interface TransactionDeps {
  namespace: string;
  actor: Actor;
  audit: PostgresAudit;
  /** A connection fault as a typed error; anything else unchanged. */
  fault: (error: unknown) => unknown;
  /** The URL as shown (password masked). */
  display: string;
  operationTimeoutMs?: number;
  /** A new client for the names' connection, to replace one that stopped answering. */
  reconnect: () => Sql;
}

/** The names' connection and the transactions run on it, one at a time. */
export class NameTransactions {
  #ops: Sql;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #deps: TransactionDeps;

  constructor(ops: Sql, deps: TransactionDeps) {
    this.#ops = ops;
    this.#deps = deps;
  }

  /**
   * Runs `act` in `name`'s critical section: one transaction holding the name's advisory lock,
   * in two round trips on the names' connection. First `begin`, the lock, and the read of the
   * state with the transaction's id (under READ COMMITTED the read's snapshot is taken once the
   * lock is held). Then the writes `act` queued, their audit rows, the notification, a check of
   * the transaction's id, and `commit`. A failure anywhere rolls all of it back; a dropped
   * connection ends the transaction and its lock on the server.
   *
   * Race: the connection may drop between the two round trips, and the client would send the
   * second on a new connection, outside any transaction and without the lock. Every write is
   * therefore guarded by the transaction's id, which is never reused: elsewhere each writes
   * nothing, and the check fails the operation.
   */
  run<T>(name: string, act: (section: Section) => T): Promise<T> {
    const run = this.#queue.then(() => this.#bounded(this.#transaction(name, act)));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * `transaction`, or a {@link BackendUnavailableError} once it has run for the operation
   * timeout. Race: the client can leave a pipeline unanswered forever when the server restarts
   * under it; the names' connection is then replaced, and what was sent on the old one is
   * abandoned (the server rolls back an unfinished transaction when the connection closes).
   */
  async #bounded<T>(transaction: Promise<T>): Promise<T> {
    const timeoutMs = this.#deps.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    let cancel: Cancel | undefined;
    const expired = new Promise<"expired">((resolve) => {
      cancel = timeout(() => resolve("expired"), timeoutMs);
    });
    try {
      const first = await Promise.race([transaction, expired]);
      if (first !== "expired") return first as T;
    } finally {
      cancel?.();
    }
    transaction.catch(() => {});
    const stuck = this.#ops;
    this.#ops = this.#deps.reconnect();
    stuck.end({ timeout: 0 }).catch(() => {});
    throw new BackendUnavailableError(
      this.#deps.display,
      `no answer within ${timeoutMs} ms`,
    );
  }

  async #transaction<T>(name: string, act: (section: Section) => T): Promise<T> {
    const namespace = this.#deps.namespace;
    const key = `${namespace}\n${name}`;
    const c = this.#ops;
    let open = false;
    try {
      const opening = [
        c`begin`,
        ...(sabotaged("skip-name-lock")
          ? []
          : [c`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`]),
        c`select pg_current_xact_id()::text as xid`,
        stateQuery(c, namespace, name),
      ];
      open = true;
      for (const q of opening) q.execute();
      const read = await Promise.all(opening);
      const xid = read[read.length - 2][0].xid as string;
      haltPoint("postgres.section.locked");
      const state = stateOf(name, read[read.length - 1]);
      const section: Section = { state, writes: [], events: [] };
      const result = act(section);
      const guard = c`pg_current_xact_id_if_assigned() = ${xid}::xid8`;
      const closing = section.writes.map((write) => write(c, guard));
      if (section.events.length > 0) {
        closing.push(
          ...this.#deps.audit.inserts(
            c,
            section.events.map((e) => ({
              ...e,
              ts: state.nowMs,
              name,
              actor: this.#deps.actor,
            })),
            guard,
          ),
          c`select pg_notify(${CHANGE_CHANNEL}, ${key}) where ${guard}`,
        );
      }
      const check = c`select pg_current_xact_id_if_assigned()::text as xid`;
      closing.push(check, c`commit`);
      for (const q of closing) q.execute();
      // The statements go out in one write: once the first is answered, the commit was sent.
      await Promise.allSettled([closing[0]]);
      haltPoint("postgres.section.commit-sent");
      const done = await Promise.allSettled(closing);
      open = false;
      const failed = done.find((d) => d.status === "rejected");
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      const [checked] = await check;
      if (checked.xid !== xid) {
        throw Object.assign(new Error("the connection was replaced during the transaction"), {
          code: "CONNECTION_CLOSED",
        });
      }
      haltPoint("postgres.section.committed");
      return result;
    } catch (error) {
      if (open) await c`rollback`.catch(() => {});
      throw this.#deps.fault(error);
    }
  }

  /** Closes the names' connection, giving what is in flight `timeoutS` seconds. */
  async end(timeoutS = 1): Promise<void> {
    await this.#ops.end({ timeout: timeoutS });
  }
}
