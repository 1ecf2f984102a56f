/**
 * What `lokt doctor` reads from the lock database: whether it connects, how long a round trip
 * takes, its clock, lokt's schema version and the role's privileges. Read-only: the schema is
 * never created and no row is written (the one notification goes to a channel of its own, which
 * no lokt listens to). The judging is the doctor's (`src/doctor/database.ts`).
 */

import { connect, type Sql } from "./client.ts";
import { BackendUnavailableError } from "./errors.ts";
import {
  REQUIRED_PRIVILEGES,
  type RequiredPrivilege,
  SCHEMA_VERSION,
  schemaState,
} from "./schema.ts";
import { parseDatabaseUrl } from "./url.ts";

/** One reading of the database's clock, bracketed by this host's. */
export interface ClockReading {
  /** This host's wall clock when the query was sent (epoch ms). */
  sentMs: number;
  /** The round trip, on the monotonic clock. */
  roundTripMs: number;
  /** The database's `clock_timestamp()` (epoch ms). */
  databaseMs: number;
}

/** What the database says about lokt's schema. */
export type SchemaFacts =
  | { kind: "missing" }
  | { kind: "at"; version: number }
  /** The schema exists, but the role may not read `lokt.meta`. */
  | { kind: "unreadable" };

/** Whether a notification sent reached a listener of the same client. */
export type NotifyFacts = { kind: "delivered" } | { kind: "lost"; waitedMs: number } | {
  kind: "error";
  problem: string;
};

/** The facts of a database that answered. Later groups are absent when a step failed. */
export interface DatabaseFacts {
  connectMs: number;
  /** The schema version this lokt knows. */
  supportedSchema: number;
  server?: { user: string; database: string; version: string; readOnly: boolean };
  /** Round trips of a trivial query, on the monotonic clock. */
  roundTripsMs?: number[];
  clock?: ClockReading[];
  schema?: SchemaFacts;
  /** The role may create schemas in the database (needed once, when lokt's is missing). */
  canCreate?: boolean;
  /** Each required privilege once the schema exists; `granted` null: no such object. */
  privileges?: { required: RequiredPrivilege; granted: boolean | null }[];
  notify?: NotifyFacts;
  /** The step that failed and why, when one did. */
  failure?: { step: string; problem: string };
}

/** What inspecting found. */
export type Inspection =
  | { kind: "unavailable"; url: string; problem: string; hint?: string; elapsedMs: number }
  | { kind: "connected"; url: string; facts: DatabaseFacts };

/** What inspecting reads from the world. */
export interface InspectOptions {
  env: (name: string) => string | undefined;
  connectTimeoutMs: number;
  /** This host's wall clock, epoch ms. */
  now: () => number;
  /** A monotonic clock, ms. */
  monotonic: () => number;
  /** Readings of the round trip and the clock (default 5). */
  samples?: number;
  /** How long to wait for the test notification (default 2 s). */
  notifyWaitMs?: number;
}

/** Connects to `url` and reads what doctor judges; never throws for the database's faults. */
export async function inspectDatabase(url: string, options: InspectOptions): Promise<Inspection> {
  const started = options.monotonic();
  let sql: Sql;
  let display = url;
  try {
    const settings = parseDatabaseUrl(url, options.env);
    display = settings.display;
    sql = await connect(settings, {
      connectTimeoutMs: options.connectTimeoutMs,
      maxConnections: 1,
    });
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    const elapsedMs = options.monotonic() - started;
    return {
      kind: "unavailable",
      url: error.url,
      problem: error.problem,
      hint: error.hint,
      elapsedMs,
    };
  }
  const facts: DatabaseFacts = {
    connectMs: options.monotonic() - started,
    supportedSchema: SCHEMA_VERSION,
  };
  const steps: [string, () => Promise<void>][] = [
    ["reading the server's settings", async () => {
      facts.server = await server(sql);
    }],
    ["measuring round trips", async () => {
      const readings = await readClock(sql, options);
      facts.roundTripsMs = readings.map((r) => r.roundTripMs);
      facts.clock = readings;
    }],
    ["reading the schema version", async () => {
      const found = await schema(sql);
      facts.schema = found.schema;
      facts.canCreate = found.canCreate;
    }],
    ["reading privileges", async () => {
      if (facts.schema?.kind !== "missing") facts.privileges = await privileges(sql);
    }],
    ["testing notifications", async () => {
      facts.notify = await notifyRoundTrip(sql, options);
    }],
  ];
  try {
    for (const [step, run] of steps) {
      // A server that stops answering half-way must not hang doctor: each step gets the
      // connect timeout.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${options.connectTimeoutMs} ms`)),
          options.connectTimeoutMs,
        );
      });
      try {
        await Promise.race([run(), deadline]);
      } catch (error) {
        const message = (error as { message?: unknown })?.message;
        facts.failure = { step, problem: typeof message === "string" ? message : String(error) };
        break;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await sql.end({ timeout: facts.failure === undefined ? 1 : 0 }).catch(() => {});
  }
  return { kind: "connected", url: display, facts };
}

async function server(sql: Sql): Promise<NonNullable<DatabaseFacts["server"]>> {
  const [row] = await sql`
    select current_user as "user", current_database() as database,
           current_setting('server_version') as version,
           pg_is_in_recovery() or current_setting('transaction_read_only') = 'on' as read_only`;
  return {
    user: String(row.user),
    database: String(row.database),
    version: String(row.version),
    readOnly: row.read_only === true,
  };
}

async function readClock(sql: Sql, options: InspectOptions): Promise<ClockReading[]> {
  const query = () =>
    sql`select (extract(epoch from clock_timestamp()) * 1000)::float8::text as ms`;
  await query(); // the first run of a statement prepares it: an extra round trip
  const readings: ClockReading[] = [];
  for (let i = 0; i < (options.samples ?? 5); i++) {
    const sentMs = options.now();
    const before = options.monotonic();
    const [row] = await query();
    readings.push({
      sentMs,
      roundTripMs: options.monotonic() - before,
      databaseMs: Number(row.ms),
    });
  }
  return readings;
}

async function schema(sql: Sql): Promise<{ schema: SchemaFacts; canCreate: boolean }> {
  // The catalogs, not to_regclass: naming a table in a schema the role may not use is an error.
  const [row] = await sql`
    select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = 'lokt' and c.relname = 'meta') as present,
           coalesce((select has_schema_privilege(n.oid, 'USAGE')
                       and has_table_privilege(c.oid, 'SELECT')
                     from pg_class c join pg_namespace n on n.oid = c.relnamespace
                     where n.nspname = 'lokt' and c.relname = 'meta'), false) as readable,
           has_database_privilege(current_database(), 'CREATE') as can_create`;
  const canCreate = row.can_create === true;
  if (row.present !== true) return { schema: { kind: "missing" }, canCreate };
  if (row.readable !== true) return { schema: { kind: "unreadable" }, canCreate };
  return { schema: await schemaState(sql), canCreate };
}

async function privileges(
  sql: Sql,
): Promise<{ required: RequiredPrivilege; granted: boolean | null }[]> {
  const rows = await sql`
    select case r.kind
      when 'schema' then (select has_schema_privilege(n.oid, r.privilege)
                          from pg_namespace n where n.nspname = r.object)
      when 'function' then has_function_privilege(to_regprocedure(r.object), r.privilege)
      else (select case r.kind when 'table' then has_table_privilege(c.oid, r.privilege)
                               else has_sequence_privilege(c.oid, r.privilege) end
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname || '.' || c.relname = r.object)
    end as granted
    from rows from (jsonb_to_recordset(${JSON.stringify(REQUIRED_PRIVILEGES)}::text::jsonb)
                    as (kind text, object text, privilege text))
      with ordinality as r(kind, object, privilege, i)
    order by r.i`;
  return REQUIRED_PRIVILEGES.map((required, i) => ({
    required,
    granted: typeof rows[i]?.granted === "boolean" ? rows[i].granted as boolean : null,
  }));
}

/** Listens on a channel of its own, notifies it, and waits for the notification. */
async function notifyRoundTrip(sql: Sql, options: InspectOptions): Promise<NotifyFacts> {
  const channel = `lokt_doctor_${crypto.randomUUID().replaceAll("-", "")}`;
  const waitMs = options.notifyWaitMs ?? 2_000;
  let arrived!: () => void;
  const delivered = new Promise<void>((resolve) => arrived = resolve);
  let listening: { unlisten(): Promise<void> } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    listening = await sql.listen(channel, () => arrived());
    await sql`select pg_notify(${channel}, 'doctor')`;
    const timedOut = new Promise<boolean>((resolve) => timer = setTimeout(resolve, waitMs, true));
    const lost = await Promise.race([delivered.then(() => false), timedOut]);
    return lost ? { kind: "lost", waitedMs: waitMs } : { kind: "delivered" };
  } catch (error) {
    const message = (error as { message?: unknown })?.message;
    return { kind: "error", problem: typeof message === "string" ? message : String(error) };
  } finally {
    clearTimeout(timer);
    await listening?.unlisten().catch(() => {});
  }
}
