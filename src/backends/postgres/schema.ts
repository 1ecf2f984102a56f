/**
 * lokt's tables, created on first use in their own schema `lokt`, and the version they are at.
 * `docs/backends.md` documents them. A database at a newer version is refused, never changed.
 */

import type { Sql } from "./client.ts";

/** The schema version this lokt creates and understands. */
export const SCHEMA_VERSION = 1;

/** Serialises concurrent first uses: the advisory lock key of schema creation. */
const SCHEMA_LOCK_KEY = 0x6c6f6b74; // "lokt"

/**
 * The tables. Names live in a namespace. `names` carries each name's slot count, fence counter
 * and freeze; `holders` one row per held slot; `tickets` the FIFO queue; `audit` the event log
 * (each row's `line` is the JSON line the file backend's audit log would hold; `xid` lets a
 * follower find rows committed late, see `audit.ts`).
 */
const DDL = [
  `create schema if not exists lokt`,
  `create table if not exists lokt.meta (key text primary key, value text not null)`,
  `create table if not exists lokt.names (
     namespace text not null,
     name text not null,
     slots integer not null default 1 check (slots >= 1),
     fence bigint not null default 0,
     freeze_record jsonb,
     primary key (namespace, name))`,
  `create table if not exists lokt.holders (
     namespace text not null,
     name text not null,
     lock_id text not null,
     slot integer not null check (slot >= 1),
     record jsonb not null,
     expires_at timestamptz,
     primary key (namespace, name, lock_id))`,
  `create table if not exists lokt.tickets (
     seq bigserial primary key,
     namespace text not null,
     name text not null,
     waiter jsonb not null,
     since timestamptz not null default now(),
     beat_at timestamptz not null default now())`,
  `create index if not exists tickets_by_name on lokt.tickets (namespace, name, seq)`,
  `create table if not exists lokt.audit (
     id bigserial primary key,
     namespace text not null,
     ts timestamptz not null,
     event text not null,
     name text not null,
     owner text not null,
     line text not null,
     xid xid8 not null default pg_current_xact_id())`,
  `create index if not exists audit_by_namespace on lokt.audit (namespace, id)`,
  `create index if not exists audit_by_time on lokt.audit (ts)`,
  `create index if not exists audit_by_xid on lokt.audit (namespace, xid)`,
];

/** What the database says about lokt's schema. */
export type SchemaState = { kind: "missing" } | { kind: "at"; version: number };

/** Reads the schema version, without creating anything. */
export async function schemaState(sql: Sql): Promise<SchemaState> {
  try {
    const [row] = await sql`select value from lokt.meta where key = 'schema_version'`;
    return row === undefined ? { kind: "missing" } : { kind: "at", version: Number(row.value) };
  } catch (error) {
    // undefined_table, invalid_schema_name: nothing created yet
    const code = (error as { code?: unknown }).code;
    if (code === "42P01" || code === "3F000") return { kind: "missing" };
    throw error;
  }
}

/** Creates the tables (idempotent, serialised by an advisory lock) at {@link SCHEMA_VERSION}. */
export async function createSchema(sql: Sql): Promise<SchemaState> {
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${SCHEMA_LOCK_KEY})`;
    for (const statement of DDL) await tx.unsafe(statement);
    await tx`insert into lokt.meta (key, value) values ('schema_version', ${String(SCHEMA_VERSION)})
             on conflict (key) do nothing`;
    const [row] = await tx`select value from lokt.meta where key = 'schema_version'`;
    return { kind: "at", version: Number(row.value) } as SchemaState;
  });
}

/** One privilege lokt's operations need, on one object of its schema (or a function they call). */
export interface RequiredPrivilege {
  kind: "schema" | "table" | "sequence" | "function";
  /** Qualified name; a function with its argument types. */
  object: string;
  privilege: string;
}

function onTable(table: string, privileges: string[]): RequiredPrivilege[] {
  return privileges.map((privilege) => ({ kind: "table", object: `lokt.${table}`, privilege }));
}

/**
 * What the role must be allowed once the schema exists, read from the statements of the engine,
 * the audit store and the pruning: keep it in step with them. LISTEN needs no privilege.
 */
export const REQUIRED_PRIVILEGES: readonly RequiredPrivilege[] = [
  { kind: "schema", object: "lokt", privilege: "USAGE" },
  ...onTable("meta", ["SELECT", "INSERT", "UPDATE"]),
  ...onTable("names", ["SELECT", "INSERT", "UPDATE"]),
  ...onTable("holders", ["SELECT", "INSERT", "UPDATE", "DELETE"]),
  ...onTable("tickets", ["SELECT", "INSERT", "UPDATE", "DELETE"]),
  ...onTable("audit", ["SELECT", "INSERT", "DELETE"]),
  // bigserial columns: PostgreSQL names their sequences after the table and the column.
  { kind: "sequence", object: "lokt.tickets_seq_seq", privilege: "USAGE" },
  { kind: "sequence", object: "lokt.audit_id_seq", privilege: "USAGE" },
  { kind: "function", object: "pg_notify(text,text)", privilege: "EXECUTE" },
  { kind: "function", object: "pg_advisory_xact_lock(bigint)", privilege: "EXECUTE" },
];
