/**
 * The PostgreSQL backend: locks shared by every machine that reaches one database. Opening it
 * loads the client (npm `postgres`), connects within the connect timeout, and creates lokt's
 * schema on first use; a schema of a newer version is refused.
 *
 * @module
 */

import { DEFAULT_AUDIT_RETENTION_MS, pruneAudit } from "./audit.ts";
import { connect, type ConnectOptions, createClient } from "./client.ts";
import { type EngineOptions, PostgresBackend } from "./engine.ts";
import { BackendUnavailableError, SchemaVersionError } from "./errors.ts";
import { createSchema, SCHEMA_VERSION, schemaState } from "./schema.ts";
import { parseDatabaseUrl } from "./url.ts";

export { BackendUnavailableError, PostgresBackend, SCHEMA_VERSION, SchemaVersionError };
export { maskPassword } from "./url.ts";
export {
  type ClockReading,
  type DatabaseFacts,
  inspectDatabase,
  type Inspection,
  type InspectOptions,
} from "./inspect.ts";

/**
 * The names' connection: a transaction left idle (its process stopped between the two round
 * trips) is ended by the server after 5 s, so that it cannot keep a name's lock forever.
 */
const NAMES_SESSION = { idle_in_transaction_session_timeout: "5s" };

/** One opening in this many prunes the audit table when its hour is due. */
const PRUNE_ONE_IN = 32;

/** How to open the backend. */
export interface OpenOptions extends Omit<EngineOptions, "reconnect">, ConnectOptions {
  /** The environment (`PGPASSWORD`, `PGHOST`, ...); default none. */
  env?: (name: string) => string | undefined;
  /** One opening in this many looks whether the audit table's hourly pruning is due (32). */
  auditPruneOneIn?: number;
}

/**
 * Connects to the database at `url` and returns the backend for `options.namespace`. Throws a
 * {@link BackendUnavailableError} (malformed URL, unreachable, refused, no answer within the
 * connect timeout) or a {@link SchemaVersionError}.
 */
export async function openPostgres(url: string, options: OpenOptions): Promise<PostgresBackend> {
  const settings = parseDatabaseUrl(url, options.env ?? (() => undefined));
  // One connection for the names' transactions, proved now; a pool for everything else,
  // connected on first use.
  const opsOptions = { ...options, maxConnections: 1, sessionSettings: NAMES_SESSION };
  const sql = await connect(settings, opsOptions);
  try {
    let schema = await schemaState(sql);
    if (schema.kind === "missing") schema = await createSchema(sql);
    if (schema.kind === "at" && schema.version > SCHEMA_VERSION) {
      throw new SchemaVersionError(settings.display, schema.version, SCHEMA_VERSION);
    }
    // Pruning is due at most hourly (the table says when it last ran); one opening in
    // PRUNE_ONE_IN looks, so that a short command rarely pays its round trips.
    if (Math.random() * (options.auditPruneOneIn ?? PRUNE_ONE_IN) < 1) {
      await pruneAudit(sql, options.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS);
    }
    const pool = createClient(settings, options);
    return new PostgresBackend(sql, pool, settings, {
      ...options,
      reconnect: () => createClient(settings, opsOptions),
    });
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    if (error instanceof SchemaVersionError) throw error;
    throw new BackendUnavailableError(
      settings.display,
      `preparing lokt's tables failed: ${(error as Error).message ?? String(error)}`,
      {
        cause: error,
        hint: "the role needs CREATE on the database (once) and USAGE on schema lokt",
      },
    );
  }
}
