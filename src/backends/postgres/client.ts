/**
 * lokt's PostgreSQL client: queries written as tagged templates, sent over a few connections of
 * the wire protocol (`wire.ts`); and the connection as lokt opens it, within a deadline, its
 * faults turned into a {@link BackendUnavailableError} that names the masked URL and the cause.
 *
 * A template's values become parameters (`$1`, ...). A query put inside another is inlined with
 * its parameters; `sql(values)` expands to a parenthesised list (`in ${sql(ids)}`) and
 * `sql(rows, ...columns)` to an insert's columns and values. A query is sent when it is awaited
 * or `execute()` is called; queries sent one after another on one connection are pipelined and
 * answered in order. A connection that closes is dropped, and the next query opens another.
 */

import { BackendUnavailableError } from "./errors.ts";
import type { ConnectionSettings } from "./url.ts";
import { Connection, ConnectionError, type Param, type Row, type WireSettings } from "./wire.ts";

export type { Row };
export { ConnectionError };
export { PostgresError } from "./wire.ts";

/** A value a template may hold. */
type Value = unknown;

/** A piece of SQL with its parameters, to put into another query. */
export type Fragment = PendingQuery<Row[]> | ListHelper;

/** `sql(values)` or `sql(rows, ...columns)`: expanded where it is put. */
class ListHelper {
  constructor(
    readonly values: readonly Value[] | readonly Record<string, Value>[],
    readonly columns: readonly string[],
  ) {}
}

/** A query's text and parameters, built from its template. */
interface Built {
  text: string;
  params: Param[];
}

/** One value as a parameter: strings as text, dates as timestamptz; the rest typed by the server. */
function param(value: Value): Param {
  if (value === null || value === undefined) return { type: 0, text: null };
  if (typeof value === "string") return { type: 25, text: value };
  if (value instanceof Date) return { type: 1184, text: value.toISOString() };
  if (typeof value === "boolean") return { type: 16, text: value ? "t" : "f" };
  if (typeof value === "bigint") return { type: 20, text: String(value) };
  if (typeof value === "number") return { type: 0, text: String(value) };
  return { type: 0, text: JSON.stringify(value) };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A query not yet sent: sent on `execute()` or when awaited, once. */
export class PendingQuery<T extends readonly Row[] = Row[]> implements PromiseLike<T> {
  readonly #strings: readonly string[];
  readonly #values: readonly Value[];
  readonly #run: (built: Built | string) => Promise<Row[]>;
  readonly #simple: boolean;
  #sent?: Promise<T>;

  constructor(
    strings: readonly string[],
    values: readonly Value[],
    run: (built: Built | string) => Promise<Row[]>,
    simple = false,
  ) {
    this.#strings = strings;
    this.#values = values;
    this.#run = run;
    this.#simple = simple;
  }

  /** Appends this query's text to `out`, its values to `params`. */
  build(out: string[], params: Param[]): void {
    this.#strings.forEach((piece, i) => {
      out.push(piece);
      if (i < this.#values.length) appendValue(this.#values[i], out, params);
    });
  }

  /** Sends the query now (at most once). */
  execute(): this {
    if (this.#sent === undefined) {
      let sending: Promise<Row[]>;
      if (this.#simple) {
        sending = this.#run(this.#strings.join(""));
      } else {
        const out: string[] = [];
        const params: Param[] = [];
        this.build(out, params);
        sending = this.#run({ text: out.join(""), params });
      }
      this.#sent = sending as Promise<unknown> as Promise<T>;
    }
    return this;
  }

  then<A = T, B = never>(
    onFulfilled?: ((rows: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.execute().#sent!.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected: (reason: unknown) => B | PromiseLike<B>): Promise<T | B> {
    return this.then(undefined, onRejected);
  }
}

function appendValue(value: Value, out: string[], params: Param[]): void {
  if (value instanceof PendingQuery) return value.build(out, params);
  if (value instanceof ListHelper) {
    if (value.columns.length === 0) {
      out.push("(");
      (value.values as Value[]).forEach((v, i) => {
        if (i > 0) out.push(",");
        appendValue(v, out, params);
      });
      out.push(")");
      return;
    }
    out.push(`(${value.columns.map(quoteIdentifier).join(",")}) values `);
    (value.values as Record<string, Value>[]).forEach((row, r) => {
      out.push(r > 0 ? ",(" : "(");
      value.columns.forEach((column, c) => {
        if (c > 0) out.push(",");
        appendValue(row[column], out, params);
      });
      out.push(")");
    });
    return;
  }
  params.push(param(value));
  out.push(`$${params.length}`);
}

/** Queries on a database: `sql\`select ...\``, `sql(values)`, and what the methods say. */
export interface Sql {
  (strings: TemplateStringsArray, ...values: Value[]): PendingQuery<Row[]>;
  (values: readonly Value[]): Fragment;
  (rows: readonly Record<string, Value>[], ...columns: string[]): Fragment;
  /** Runs `fn` in a transaction on a connection of its own: committed, or rolled back on a throw. */
  begin<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** A query's text as it is, sent as a simple query (it may hold several statements). */
  unsafe(text: string): PendingQuery<Row[]>;
  /** Calls `fn` with each notification on `channel`, on a connection kept for listening. */
  listen(
    channel: string,
    fn: (payload: string) => void,
  ): Promise<{ unlisten(): Promise<void> }>;
  /** Waits up to `timeout` seconds for queries in flight, then closes every connection. */
  end(options?: { timeout?: number }): Promise<void>;
}

/** The connections of one client; see the module's description. */
class Pool {
  readonly #settings: WireSettings;
  readonly #max: number;
  readonly #connections: Connection[] = [];
  #ended = false;
  #listener?: Listener;

  constructor(settings: WireSettings, max: number) {
    this.#settings = settings;
    this.#max = max;
  }

  open(): Connection {
    if (this.#ended) throw new ConnectionError("CONNECTION_ENDED", "the client was ended");
    const connection = new Connection(this.#settings, {
      onClose: (closed) => {
        const at = this.#connections.indexOf(closed);
        if (at >= 0) this.#connections.splice(at, 1);
      },
    });
    this.#connections.push(connection);
    return connection;
  }

  /** An idle connection; else a new one while fewer than the maximum; else the least busy. */
  pick(): Connection {
    let best: Connection | undefined;
    for (const c of this.#connections) {
      if (c.closed || reserved.has(c)) continue;
      if (c.idle) return c;
      if (best === undefined || c.pending < best.pending) best = c;
    }
    if (best === undefined || this.#connections.length < this.#max) return this.open();
    return best;
  }

  /**
   * A connection for a transaction alone: an idle one, else a new one (even past the maximum:
   * it is closed after the transaction if the pool has grown past it meanwhile).
   */
  reserve(): Connection {
    const idle = this.#connections.find((c) => c.idle && !reserved.has(c));
    const connection = idle ?? this.open();
    reserved.add(connection);
    return connection;
  }

  unreserve(connection: Connection): void {
    if (this.#connections.length <= this.#max) return void reserved.delete(connection);
    // Past the maximum: out of the pool at once (still reserved, so nothing else is put on it).
    this.#connections.splice(this.#connections.indexOf(connection), 1);
    connection.end(0).catch(() => {});
  }

  run(built: Built | string, on?: Connection): Promise<Row[]> {
    let connection: Connection;
    try {
      connection = on ?? this.pick();
    } catch (error) {
      return Promise.reject(error);
    }
    return typeof built === "string"
      ? connection.query(built)
      : connection.query(built.text, built.params);
  }

  listener(): Listener {
    if (this.#ended) throw new ConnectionError("CONNECTION_ENDED", "the client was ended");
    return this.#listener ??= new Listener(this.#settings);
  }

  async end(timeoutMs: number): Promise<void> {
    this.#ended = true;
    await Promise.all([
      ...this.#connections.map((c) => c.end(timeoutMs)),
      this.#listener?.end(timeoutMs),
    ]);
  }
}

/** Connections a transaction holds: no other query is put on them. */
const reserved = new WeakSet<Connection>();

/**
 * The listening connection: LISTEN for every channel someone listens on, and, when it closes,
 * a new connection that listens again (after 0.25 s, doubling up to 2 s while it fails), until
 * the client ends. What was notified while no connection listened is lost: callers also poll.
 */
class Listener {
  readonly #settings: WireSettings;
  readonly #channels = new Map<string, Set<(payload: string) => void>>();
  #connection?: Connection;
  #ended = false;
  #retryMs = 250;
  #retry?: ReturnType<typeof setTimeout>;

  constructor(settings: WireSettings) {
    this.#settings = settings;
  }

  /**
   * A new listening connection (at most one at a time) with a LISTEN for every channel someone
   * listens on; resolves once the server has answered them all.
   */
  #connect(): Promise<unknown> {
    // Not `clearTimeout` when there is nothing to clear: its first call loads the runtime's timers.
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    const connection = new Connection(this.#settings, {
      onNotification: (channel, payload) => {
        for (const fn of this.#channels.get(channel) ?? []) fn(payload);
      },
      onClose: () => {
        if (this.#connection !== connection) return;
        this.#connection = undefined;
        if (this.#ended || this.#channels.size === 0) return;
        this.#retry = setTimeout(() => {
          if (this.#channels.size > 0) this.#connect().catch(() => {});
        }, this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, 2_000);
      },
    });
    this.#connection = connection;
    connection.ready.then(() => this.#retryMs = 250, () => {});
    return Promise.all(
      [...this.#channels.keys()].map((c) => connection.query(`listen ${quoteIdentifier(c)}`)),
    );
  }

  async listen(channel: string, fn: (payload: string) => void) {
    let fns = this.#channels.get(channel);
    const first = fns === undefined;
    if (fns === undefined) this.#channels.set(channel, fns = new Set());
    fns.add(fn);
    try {
      const connection = this.#connection;
      if (connection === undefined) await this.#connect();
      else if (first) await connection.query(`listen ${quoteIdentifier(channel)}`);
      else await connection.ready;
    } catch (error) {
      this.#forget(channel, fn);
      throw error;
    }
    let listening = true;
    return {
      unlisten: async () => {
        if (!listening) return;
        listening = false;
        if (this.#forget(channel, fn)) {
          await this.#connection?.query(`unlisten ${quoteIdentifier(channel)}`);
        }
      },
    };
  }

  /** Removes `fn`; true when nobody listens on `channel` anymore. */
  #forget(channel: string, fn: (payload: string) => void): boolean {
    const fns = this.#channels.get(channel);
    if (fns === undefined) return false;
    fns.delete(fn);
    if (fns.size > 0) return false;
    this.#channels.delete(channel);
    return true;
  }

  async end(timeoutMs: number): Promise<void> {
    this.#ended = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    await this.#connection?.end(timeoutMs);
  }
}

/** A client over `pool`; with `on`, every query goes to that connection (a transaction's). */
function client(pool: Pool, on?: Connection): Sql {
  const run = (built: Built | string) => pool.run(built, on);
  const sql = ((first: TemplateStringsArray | readonly Value[], ...rest: Value[]) => {
    if ("raw" in first) return new PendingQuery(first, rest, run);
    return new ListHelper(first as readonly Value[], rest as string[]);
  }) as Sql;
  sql.unsafe = (text) => new PendingQuery([text], [], run, true);
  sql.begin = async (fn) => {
    const connection = on ?? pool.reserve();
    const tx = client(pool, connection);
    try {
      await tx`begin`;
      let result;
      try {
        result = await fn(tx);
      } catch (error) {
        await tx`rollback`.catch(() => {});
        throw error;
      }
      await tx`commit`;
      return result;
    } finally {
      if (on === undefined) pool.unreserve(connection);
    }
  };
  sql.listen = (channel, fn) => {
    try {
      return pool.listener().listen(channel, fn);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  sql.end = (options) => pool.end((options?.timeout ?? 5) * 1000);
  return sql;
}

/** How to connect. */
export interface ConnectOptions {
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** Connections for queries (default 4; listening takes one more). */
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
  switch (code) {
    case "ENOSSL":
      return `the server at ${where} does not accept TLS (sslmode=${settings.sslmode}); ` +
        "turn ssl on in the server, or connect without TLS (sslmode=disable)";
    case "ECERTIFICATE":
      if (/NotValidForName/i.test(message)) {
        return `the server's certificate does not name "${settings.host}" (${message}); ` +
          "connect by a name its certificate holds";
      }
      if (!/UnknownIssuer|UnknownCA|issuer/i.test(message)) {
        return `the server's certificate is refused (${message})`;
      }
      return settings.sslrootcert === undefined
        ? `the server's certificate is not trusted (${message}); name its CA with sslrootcert=`
        : `the server's certificate is not trusted by sslrootcert=${settings.sslrootcert} ` +
          `(${message})`;
  }
  return message.replace(/\s+/g, " ").trim() || code || "unknown error";
}

/** Connection faults a running operation can meet (the server went away or restarted). */
export function isConnectionFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return /^(E[A-Z]+|CONNECTION_\w+|CONNECT_TIMEOUT|57P0[1-3]|08\w{3})$/.test(code);
}

/**
 * The TLS the URL's `sslmode` asks for (no TLS when it names none). `verify-ca` and `verify-full`
 * are `require`: the certificate, and the host name in it, are verified in every mode that uses
 * TLS (stricter than libpq's `prefer` and `require`).
 */
function tlsOf(sslmode: string | undefined): WireSettings["tls"] {
  if (sslmode === undefined || sslmode === "disable" || sslmode === "allow") return "disable";
  return sslmode === "prefer" ? "prefer" : "require";
}

function poolFor(settings: ConnectionSettings, options: ConnectOptions): Pool {
  return new Pool({
    host: settings.host,
    port: settings.port,
    socketPath: settings.socketPath,
    database: settings.database,
    user: settings.user,
    password: settings.password,
    tls: tlsOf(settings.sslmode),
    caCertPath: settings.sslrootcert,
    session: { application_name: "lokt", ...options.sessionSettings },
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  }, options.maxConnections ?? 4);
}

/** A client for `settings`; it connects on its first query. */
export function createClient(settings: ConnectionSettings, options: ConnectOptions = {}): Sql {
  return client(poolFor(settings, options));
}

/**
 * Opens a client with its first connection, proved by the server's readiness for queries (no
 * extra round trip), all within the connect timeout. Throws a {@link BackendUnavailableError};
 * never hangs past the deadline.
 */
export async function connect(
  settings: ConnectionSettings,
  options: ConnectOptions = {},
): Promise<Sql> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const pool = poolFor(settings, options);
  const sql = client(pool);
  try {
    await pool.open().ready;
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
  }
}
