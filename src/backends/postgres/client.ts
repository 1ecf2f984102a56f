/**
 * The PostgreSQL client (npm `postgres`), loaded by a dynamic import only when this backend is
 * used, and the connection: opened within a deadline, its faults turned into a
 * {@link BackendUnavailableError} that names the masked URL and the cause.
 */

import type postgres from "npm:postgres@3.4.7";
import { BackendUnavailableError } from "./errors.ts";
import type { ConnectionSettings } from "./url.ts";

/** A connection pool of the client. */
export type Sql = postgres.Sql;
/** One row as the client returns it. */
export type Row = postgres.Row;
/** A query not yet sent: the client sends it on `execute()` or when awaited. */
export type PendingQuery<T extends readonly Row[]> = postgres.PendingQuery<T>;
/** A piece of SQL with its parameters, to put into another query. */
export type Fragment = postgres.Fragment;

/** How to connect. */
export interface ConnectOptions {
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** Connections in the pool (default 4; listening takes one more). */
  maxConnections?: number;
  /** Server settings for the session (`idle_in_transaction_session_timeout`, ...). */
  sessionSettings?: Record<string, string>;
}

/** Default connect timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** The words for a failed connection, from the client's or the server's error. */
export function connectProblem(error: unknown, settings: ConnectionSettings): string {
  const e = error as { code?: unknown; message?: unknown; errno?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const where = settings.socketPath ?? `${settings.host}:${settings.port}`;
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused at ${where} (is the server running?)`;
    case "ENOENT":
      return `no server socket at ${where} (is the server running?)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `unknown host "${settings.host}"`;
    case "CONNECT_TIMEOUT":
      return `no answer from ${where}`;
    case "28P01":
      return `password authentication failed for user "${settings.user}"`;
    case "3D000":
      return `database "${settings.database}" does not exist`;
  }
  const message = typeof e?.message === "string" ? e.message : String(error);
  return message.replace(/\s+/g, " ").trim() || code || "unknown error";
}

/** Connection faults a running operation can meet (the server went away or restarted). */
export function isConnectionFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return /^(E[A-Z]+|CONNECTION_\w+|CONNECT_TIMEOUT|57P0[1-3]|08\w{3})$/.test(code);
}

/**
 * Keeps the runtime's `TimeoutNegativeWarning` off stderr; every other warning is printed as
 * before. Why: when a connection is lost, the client schedules its reconnection at "closed time
 * plus back-off minus now", negative once the back-off has passed; the runtime then waits 1 ms,
 * which is what the client means, but prints a warning that would reach a guard's stderr in the
 * middle of lokt's own lines. Installed once, when the client is first loaded.
 */
async function quietNegativeTimeouts(): Promise<void> {
  const { default: process } = await import("node:process");
  if (quieted) return;
  quieted = true;
  const printers = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning?.name === "TimeoutNegativeWarning") return;
    for (const print of printers) print(warning);
  });
}
let quieted = false;

/** A client for `settings`; it connects on its first query. */
export async function createClient(
  settings: ConnectionSettings,
  options: ConnectOptions = {},
): Promise<Sql> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const { default: open } = await import("npm:postgres@3.4.7");
  await quietNegativeTimeouts();
  return open({
    host: settings.host,
    port: settings.port,
    path: settings.socketPath,
    database: settings.database,
    user: settings.user,
    pass: settings.password,
    ssl: settings.sslmode === undefined || settings.sslmode === "disable"
      ? false
      : settings.sslmode as "require",
    max: options.maxConnections ?? 4,
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "lokt", ...options.sessionSettings },
  });
}

/**
 * Opens a client and proves it with one round trip, all within the connect timeout. Throws a
 * {@link BackendUnavailableError}; never hangs past the deadline.
 */
export async function connect(
  settings: ConnectionSettings,
  options: ConnectOptions = {},
): Promise<Sql> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const sql = await createClient(settings, options);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error("timeout"), { code: "CONNECT_TIMEOUT" })),
      timeoutMs,
    );
  });
  try {
    await Promise.race([sql`select 1`, deadline]);
    return sql;
  } catch (error) {
    // Closing must not wait for a server that does not answer.
    sql.end({ timeout: 0 }).catch(() => {});
    const problem = connectProblem(error, settings);
    throw new BackendUnavailableError(
      settings.display,
      (error as { code?: unknown })?.code === "CONNECT_TIMEOUT"
        ? `${problem} within ${timeoutMs} ms`
        : problem,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
