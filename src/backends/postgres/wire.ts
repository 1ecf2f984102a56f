/**
 * One connection to a PostgreSQL server, speaking the frontend/backend protocol (version 3) over
 * `Deno.connect`: start-up and authentication (trust, cleartext, MD5, SCRAM-SHA-256), TLS when
 * asked, queries with text parameters (one Sync per query, so each fails alone and a transaction
 * fails as a whole), simple queries for DDL, and notifications. Nothing but the runtime: opening
 * it costs one socket and a start-up exchange, where a general npm client cost about 30 ms of
 * loading and connecting for every command.
 *
 * Queries are accepted as soon as the connection object exists, before the server has answered:
 * they are sent, in the order they were made, once start-up is done. Messages made in one turn of
 * the event loop go out in one write.
 */

import { type Cancel, timeout } from "../../timers.ts";
import type { ConnectionSettings } from "./url.ts";

/** A row: column name to value (see {@link parseValue} for the types). */
export type Row = Record<string, unknown>;

/** A query's parameter as sent: a type (0: the server infers it) and its text, or null. */
export interface Param {
  type: number;
  text: string | null;
}

/**
 * Where and how to connect: the URL's server, database and credentials (with a unix socket file,
 * `host` and `port` only name it in messages), and the following.
 */
export interface WireSettings
  extends
    Pick<ConnectionSettings, "host" | "port" | "socketPath" | "database" | "user" | "password"> {
  /**
   * `disable` (no TLS), `prefer` (TLS when the server offers it) or `require`. Never over a unix
   * socket. Whenever TLS is used the server's certificate is verified, name included.
   */
  tls: "disable" | "prefer" | "require";
  /** A PEM file of the CA certificates the server's must chain to; else the runtime's roots. */
  caCertPath?: string;
  /** Server settings for the session, sent at start-up (`application_name`, ...). */
  session: Record<string, string>;
  /** Give up start-up after this long. */
  connectTimeoutMs: number;
}

/** An error the server reported, with its SQLSTATE `code`. */
export class PostgresError extends Error {
  override readonly name = "PostgresError";
  readonly code: string;
  readonly severity: string;
  readonly detail?: string;
  readonly hint?: string;

  constructor(fields: Map<string, string>) {
    super(fields.get("M") ?? "unknown server error");
    this.code = fields.get("C") ?? "XX000";
    this.severity = fields.get("V") ?? fields.get("S") ?? "ERROR";
    this.detail = fields.get("D");
    this.hint = fields.get("H");
  }
}

/** A fault of the connection itself, with a `code` (`ECONNREFUSED`, `CONNECTION_CLOSED`, ...). */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The connection fault for an error of `Deno.connect` or of the socket. */
function socketFault(error: unknown): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const message = (error as Error)?.message ?? String(error);
  const code = error instanceof Deno.errors.ConnectionRefused
    ? "ECONNREFUSED"
    : /failed to lookup address|name or service not known|nodename nor servname/i.test(message)
    ? "ENOTFOUND"
    : /temporary failure in name resolution/i.test(message)
    ? "EAI_AGAIN"
    : error instanceof Deno.errors.NotFound
    ? "ENOENT"
    : error instanceof Deno.errors.ConnectionReset
    ? "ECONNRESET"
    : error instanceof Deno.errors.TimedOut
    ? "ETIMEDOUT"
    : error instanceof Deno.errors.PermissionDenied
    ? "EACCES"
    : "CONNECTION_CLOSED";
  return new ConnectionError(code, message, { cause: error });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds one message: a type byte (none for start-up), a length, and the body. */
class Message {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;
  readonly #typed: boolean;

  constructor(type?: string) {
    this.#typed = type !== undefined;
    if (type !== undefined) this.#bytes[this.#at++] = type.charCodeAt(0);
    this.#at += 4; // the length, written by done()
  }

  #room(n: number): void {
    if (this.#at + n <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + n));
    bigger.set(this.#bytes);
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  int16(n: number): this {
    this.#room(2);
    this.#view.setInt16(this.#at, n);
    this.#at += 2;
    return this;
  }

  int32(n: number): this {
    this.#room(4);
    this.#view.setInt32(this.#at, n);
    this.#at += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#bytes.set(b, this.#at);
    this.#at += b.length;
    return this;
  }

  /** A string and its terminating zero. */
  cstring(s: string): this {
    return this.bytes(encoder.encode(s)).bytes(ZERO);
  }

  done(): Uint8Array {
    this.#view.setInt32(this.#typed ? 1 : 0, this.#at - (this.#typed ? 1 : 0));
    return this.#bytes.subarray(0, this.#at);
  }
}
const ZERO = new Uint8Array(1);
const SYNC = new Message("S").done();
const TERMINATE = new Message("X").done();
/** Statements kept per connection; past this, queries are parsed each time. */
const MAX_STATEMENTS = 200;

/** Reads the body of one message from the server. */
class Reader {
  #at = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  int16(): number {
    const n = this.#view.getInt16(this.#at);
    this.#at += 2;
    return n;
  }

  int32(): number {
    const n = this.#view.getInt32(this.#at);
    this.#at += 4;
    return n;
  }

  bytes(n: number): Uint8Array {
    const b = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return b;
  }

  rest(): Uint8Array {
    return this.bytes(this.#bytes.length - this.#at);
  }

  cstring(): string {
    let end = this.#bytes.indexOf(0, this.#at);
    if (end < 0) end = this.#bytes.length;
    const s = decoder.decode(this.#bytes.subarray(this.#at, end));
    this.#at = end + 1;
    return s;
  }

  /** The fields of an error or notice: code letter to text. */
  fields(): Map<string, string> {
    const fields = new Map<string, string>();
    while (this.#at < this.#bytes.length && this.#bytes[this.#at] !== 0) {
      const code = String.fromCharCode(this.#bytes[this.#at++]);
      fields.set(code, this.cstring());
    }
    return fields;
  }
}

/** Type identifiers (`pg_type.oid`) the values are read by. */
const BOOL = 16,
  INT8 = 20,
  INT2 = 21,
  INT4 = 23,
  OID = 26,
  JSON_ = 114,
  FLOAT4 = 700,
  FLOAT8 = 701,
  DATE = 1082,
  TIMESTAMP = 1114,
  TIMESTAMPTZ = 1184,
  JSONB = 3802;

/**
 * A column's text as a value: booleans, 2- and 4-byte integers, oids and floats as numbers;
 * 8-byte integers and numerics as strings (a number could not hold them all); JSON parsed;
 * dates and timestamps as `Date`; everything else as its text.
 */
export function parseValue(type: number, text: string): unknown {
  switch (type) {
    case BOOL:
      return text === "t";
    case INT2:
    case INT4:
    case OID:
    case FLOAT4:
    case FLOAT8:
      return Number(text);
    case JSON_:
    case JSONB:
      return JSON.parse(text);
    case DATE:
      return new Date(`${text}T00:00:00Z`);
    case TIMESTAMP:
      return new Date(`${text.replace(" ", "T")}Z`);
    case TIMESTAMPTZ:
      // `2026-12-03 22:54:49.929838+00`, or `+05:30`: the offset's minutes made explicit.
      return new Date(text.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00"));
    case INT8:
    default:
      return text;
  }
}

interface Field {
  name: string;
  type: number;
}

/** A query sent and not yet answered in full. */
interface Pending {
  rows: Row[];
  fields: Field[];
  error?: Error;
  /** The statement this query parses, to forget if the parse fails. */
  prepared?: string;
  resolve(rows: Row[]): void;
  reject(error: Error): void;
}

type Phase = "starting" | "ready" | "closed";

/** What the connection tells its owner. */
export interface ConnectionEvents {
  /** A notification arrived (after LISTEN on this connection). */
  onNotification?(channel: string, payload: string): void;
  /** The connection is closed, by either side or by a fault; called once. */
  onClose?(connection: Connection): void;
}

/** One connection; see the module's description. */
export class Connection {
  readonly #settings: WireSettings;
  readonly #events: ConnectionEvents;
  #phase: Phase = "starting";
  #conn?: Deno.Conn;
  /** Messages of queries made before start-up ended, sent when it does. */
  #held: Uint8Array[] = [];
  /** Messages made this turn, not yet written. */
  #out: Uint8Array[] = [];
  #flushing = false;
  #writes: Promise<void> = Promise.resolve();
  readonly #pending: Pending[] = [];
  /** Statements parsed on this connection: types and text to name. */
  readonly #statements = new Map<string, string>();
  #parsed = 0;
  #ready!: { resolve(): void; reject(error: Error): void };
  #closeError?: Error;
  /** Called once nothing is pending (or the connection closed). */
  #drained: (() => void)[] = [];
  /** Resolves when the server has accepted the connection. */
  readonly ready: Promise<void>;

  constructor(settings: WireSettings, events: ConnectionEvents = {}) {
    this.#settings = settings;
    this.#events = events;
    this.ready = new Promise<void>((resolve, reject) => this.#ready = { resolve, reject });
    this.ready.catch(() => {});
    this.#start();
  }

  /** Queries sent or waiting to be sent, not yet answered. */
  get pending(): number {
    return this.#pending.length;
  }

  get closed(): boolean {
    return this.#phase === "closed";
  }

  get idle(): boolean {
    return this.#phase === "ready" && this.#pending.length === 0;
  }

  /**
   * Sends `text`. With `params` (possibly none), as one extended query with text parameters;
   * without, as a simple query, which may hold several statements (their rows are not kept
   * apart). Resolves with the rows once the server is ready for the next query.
   */
  query(text: string, params?: readonly Param[]): Promise<Row[]> {
    if (this.#phase === "closed") {
      return Promise.reject(
        this.#closeError ?? new ConnectionError("CONNECTION_CLOSED", "the connection is closed"),
      );
    }
    let messages: Uint8Array[];
    let prepared: string | undefined;
    if (params === undefined) {
      messages = [new Message("Q").cstring(text).done()];
    } else {
      // A statement is parsed once per connection and kept under a name (a few hundred at
      // most); parsing and planning it again for every query costs the server more than the
      // query itself. One that fails to parse is forgotten with its query's error.
      const types = typesOf(params);
      const key = `${types.join(",")}\n${text}`;
      let name = this.#statements.get(key);
      const parse: Uint8Array[] = [];
      if (name === undefined) {
        name = this.#statements.size < MAX_STATEMENTS ? `lokt${this.#parsed++}` : "";
        if (name !== "") this.#statements.set(prepared = key, name);
        const m = new Message("P").cstring(name).cstring(text).int16(types.length);
        for (const type of types) m.int32(type);
        parse.push(m.done());
      }
      messages = [...parse, bind(name, params), DESCRIBE_PORTAL, EXECUTE_ALL, SYNC];
    }
    return new Promise<Row[]>((resolve, reject) => {
      this.#pending.push({ rows: [], fields: [], prepared, resolve, reject });
      for (const m of messages) this.#send(m);
    });
  }

  /**
   * Waits up to `timeoutMs` for the queries in flight to be answered, then says goodbye to the
   * server and closes. What is still unanswered is rejected.
   */
  async end(timeoutMs: number): Promise<void> {
    if (this.#phase === "closed") return;
    if (this.#pending.length > 0 && timeoutMs > 0) {
      let cancel: Cancel | undefined;
      const answered = new Promise<void>((resolve) => this.#drained.push(resolve));
      await Promise.race([
        answered,
        new Promise<void>((resolve) => cancel = timeout(resolve, timeoutMs)),
      ]);
      cancel?.();
    }
    if (this.#phase === "ready") {
      this.#send(TERMINATE);
      await this.#flush().catch(() => {});
    }
    this.#close(new ConnectionError("CONNECTION_ENDED", "the connection was ended"));
  }

  /** Closes at once; whatever is in flight is rejected with `error` or a closed-connection one. */
  destroy(error?: Error): void {
    this.#close(error ?? new ConnectionError("CONNECTION_DESTROYED", "the connection was closed"));
  }

  #send(message: Uint8Array): void {
    if (this.#phase === "starting") {
      this.#held.push(message);
      return;
    }
    this.#out.push(message);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      this.#flushing = false;
      this.#flush().catch((error) => this.#close(socketFault(error)));
    });
  }

  /** Writes what was made so far, after every earlier write. */
  #flush(): Promise<void> {
    const parts = this.#out;
    this.#out = [];
    if (parts.length === 0) return this.#writes;
    const bytes = parts.length === 1 ? parts[0] : concat(parts);
    const conn = this.#conn!;
    this.#writes = this.#writes.then(async () => {
      for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    });
    return this.#writes;
  }

  async #start(): Promise<void> {
    const s = this.#settings;
    const cancel = timeout(
      () =>
        this.#close(
          new ConnectionError("CONNECT_TIMEOUT", `no answer within ${s.connectTimeoutMs} ms`),
        ),
      s.connectTimeoutMs,
    );
    this.ready.finally(cancel).catch(() => {});
    try {
      let conn: Deno.Conn = s.socketPath !== undefined
        ? await Deno.connect({ transport: "unix", path: s.socketPath })
        : await Deno.connect({ hostname: s.host, port: s.port });
      if (this.closed) return conn.close();
      this.#conn = conn;
      if (s.socketPath === undefined && s.tls !== "disable") {
        conn = await this.#startTls(conn as Deno.TcpConn);
        if (this.closed) return conn.close();
        this.#conn = conn;
      }
      const startup = new Message().int32(196608);
      const session = {
        user: s.user,
        database: s.database,
        client_encoding: "UTF8",
        DateStyle: "ISO",
        ...s.session,
      };
      for (const [key, value] of Object.entries(session)) startup.cstring(key).cstring(value);
      this.#out.push(startup.bytes(ZERO).done());
      await this.#flush();
      await this.#read(conn);
    } catch (error) {
      this.#close(error instanceof PostgresError ? error : socketFault(error));
    }
  }

  /**
   * Asks for TLS; the server's certificate is verified against the CA file's certificates, or
   * the runtime's trusted roots. The handshake is done here, so that a certificate the client
   * refuses is told apart (`ECERTIFICATE`) from a connection that fails later.
   */
  async #startTls(conn: Deno.TcpConn): Promise<Deno.Conn> {
    const caCerts = await this.#caCerts();
    await conn.write(new Message().int32(80877103).done());
    const answer = new Uint8Array(1);
    if (await conn.read(answer) !== 1) {
      throw new ConnectionError("CONNECTION_CLOSED", "the server closed the connection");
    }
    if (answer[0] === 83 /* S */) {
      const tls = await Deno.startTls(conn, { hostname: this.#settings.host, caCerts });
      try {
        await tls.handshake();
      } catch (error) {
        tls.close();
        const message = (error as Error)?.message ?? String(error);
        if (!/certificate/i.test(message)) throw error;
        throw new ConnectionError("ECERTIFICATE", message, { cause: error });
      }
      return tls;
    }
    if (this.#settings.tls === "require") {
      throw new ConnectionError("ENOSSL", "the server does not accept TLS (sslmode=require)");
    }
    return conn;
  }

  /** The CA file's text, read at each connection (so a renewed file is used), or undefined. */
  async #caCerts(): Promise<string[] | undefined> {
    const path = this.#settings.caCertPath;
    if (path === undefined) return undefined;
    try {
      return [await Deno.readTextFile(path)];
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "no such file"
        : error instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : (error as Error)?.message ?? String(error);
      throw new ConnectionError("ESSLROOTCERT", `cannot read sslrootcert ${path}: ${reason}`, {
        cause: error,
      });
    }
  }

  /** Reads messages until the socket closes. */
  async #read(conn: Deno.Conn): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    let buffer = new Uint8Array(0);
    for (;;) {
      const n = await conn.read(chunk).catch((error) => {
        if (this.#phase === "closed") return null;
        throw error;
      });
      if (n === null) break;
      let data: Uint8Array;
      if (buffer.length === 0) {
        data = chunk.subarray(0, n);
      } else {
        data = new Uint8Array(buffer.length + n);
        data.set(buffer);
        data.set(chunk.subarray(0, n), buffer.length);
      }
      let at = 0;
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      while (data.length - at >= 5) {
        const length = view.getInt32(at + 1);
        if (data.length - at < 1 + length) break;
        const waiting = this.#receive(data[at], data.subarray(at + 5, at + 1 + length));
        if (waiting !== undefined) await waiting;
        at += 1 + length;
      }
      // What remains is kept as a copy: `chunk` is reused by the next read.
      buffer = data.slice(at);
    }
    this.#close(
      this.#pending[0]?.error ??
        new ConnectionError("CONNECTION_CLOSED", "the server closed the connection"),
    );
  }

  #scram?: Scram;

  /** One message from the server; a promise only during authentication. */
  #receive(type: number, body: Uint8Array): Promise<void> | undefined {
    const head = this.#pending[0];
    switch (type) {
      case 68: { // D: a row
        if (head === undefined) return;
        const r = new Reader(body);
        const count = r.int16();
        const row: Row = {};
        for (let i = 0; i < count; i++) {
          const length = r.int32();
          const field = head.fields[i];
          const value = length < 0 ? null : decoder.decode(r.bytes(length));
          if (field !== undefined) {
            row[field.name] = value === null ? null : parseValue(field.type, value);
          }
        }
        head.rows.push(row);
        return;
      }
      case 84: { // T: the rows' description
        if (head === undefined) return;
        const r = new Reader(body);
        const count = r.int16();
        head.fields = [];
        for (let i = 0; i < count; i++) {
          const name = r.cstring();
          r.bytes(6);
          const fieldType = r.int32();
          r.bytes(8);
          head.fields.push({ name, type: fieldType });
        }
        return;
      }
      case 49: // 1: parsed; the statement is kept even if the query fails later
        if (head !== undefined) head.prepared = undefined;
        return;
      case 90: { // Z: ready for the next query
        if (this.#phase === "starting") {
          this.#phase = "ready";
          this.#ready.resolve();
          for (const m of this.#held) this.#send(m);
          this.#held = [];
          return;
        }
        const done = this.#pending.shift();
        if (done === undefined) return;
        if (done.error !== undefined) done.reject(done.error);
        else done.resolve(done.rows);
        if (this.#pending.length === 0) this.#wakeDrained();
        return;
      }
      case 69: { // E: an error
        const error = new PostgresError(new Reader(body).fields());
        if (this.#phase === "starting") {
          this.#close(error);
        } else if (head !== undefined && head.error === undefined) {
          head.error = error;
          if (head.prepared !== undefined) this.#statements.delete(head.prepared);
        } else if (head === undefined) {
          this.#closeError = error; // a FATAL error outside any query: the socket closes next
        }
        return;
      }
      case 65: { // A: a notification
        const r = new Reader(body);
        r.int32();
        const channel = r.cstring();
        const payload = r.cstring();
        this.#events.onNotification?.(channel, payload);
        return;
      }
      case 82: // R: authentication
        return this.#authenticate(new Reader(body));
      default:
        // 2, C, I, n, s: completions without content; S, K, N, v: settings, keys, notices.
        return;
    }
  }

  async #authenticate(r: Reader): Promise<void> {
    const kind = r.int32();
    const s = this.#settings;
    const password = (): string => {
      if (s.password === "") {
        throw new PostgresError(
          new Map([["C", "28P01"], ["M", `the server asks a password for user "${s.user}"`]]),
        );
      }
      return s.password;
    };
    switch (kind) {
      case 0: // ok
        return;
      case 3: // cleartext
        this.#out.push(new Message("p").cstring(password()).done());
        break;
      case 5: { // MD5
        const salt = r.bytes(4);
        const { createHash } = await import("node:crypto");
        const md5 = (data: Uint8Array | string) => createHash("md5").update(data).digest("hex");
        const inner = md5(password() + s.user);
        this.#out.push(
          new Message("p").cstring(`md5${md5(concat([encoder.encode(inner), salt]))}`).done(),
        );
        break;
      }
      case 10: { // SASL: the mechanisms offered
        const offered: string[] = [];
        for (let m = r.cstring(); m !== ""; m = r.cstring()) offered.push(m);
        if (!offered.includes("SCRAM-SHA-256")) {
          throw new ConnectionError(
            "EAUTH",
            `the server offers no authentication lokt knows (${offered.join(", ")})`,
          );
        }
        this.#scram = new Scram(password());
        const first = encoder.encode(this.#scram.first());
        this.#out.push(
          new Message("p").cstring("SCRAM-SHA-256").int32(first.length).bytes(first).done(),
        );
        break;
      }
      case 11: { // SASL continue: the server's first message
        const final = await this.#scram!.final(decoder.decode(r.rest()));
        this.#out.push(new Message("p").bytes(encoder.encode(final)).done());
        break;
      }
      case 12: // SASL final: the server proves it knew the password too
        await this.#scram!.verify(decoder.decode(r.rest()));
        return;
      default:
        throw new ConnectionError(
          "EAUTH",
          `the server asks for an authentication lokt does not support (${kind})`,
        );
    }
    await this.#flush();
  }

  #close(error: Error): void {
    if (this.#phase === "closed") return;
    const starting = this.#phase === "starting";
    this.#phase = "closed";
    this.#closeError ??= error;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    if (starting) this.#ready.reject(this.#closeError);
    for (const p of this.#pending.splice(0)) p.reject(p.error ?? this.#closeError);
    this.#wakeDrained();
    this.#events.onClose?.(this);
  }

  #wakeDrained(): void {
    for (const wake of this.#drained.splice(0)) wake();
  }
}

function typesOf(params: readonly Param[]): number[] {
  return params.map((p) => p.type);
}

function bind(statement: string, params: readonly Param[]): Uint8Array {
  const m = new Message("B").cstring("").cstring(statement).int16(0).int16(params.length);
  for (const p of params) {
    if (p.text === null) {
      m.int32(-1);
    } else {
      const bytes = encoder.encode(p.text);
      m.int32(bytes.length).bytes(bytes);
    }
  }
  return m.int16(0).done();
}
const DESCRIBE_PORTAL = new Message("D").bytes(new Uint8Array([80, /* P */ 0])).done();
const EXECUTE_ALL = new Message("E").cstring("").int32(0).done();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const all = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** SCRAM-SHA-256 (RFC 5802, RFC 7677) with WebCrypto, for the server's `scram-sha-256`. */
class Scram {
  readonly #password: string;
  readonly #nonce: string;
  #firstBare = "";
  #expected?: Uint8Array<ArrayBuffer>;

  constructor(password: string) {
    this.#password = password;
    this.#nonce = base64(crypto.getRandomValues(new Uint8Array(18)));
  }

  /** The client's first message (the user name is the start-up's). */
  first(): string {
    this.#firstBare = `n=,r=${this.#nonce}`;
    return `n,,${this.#firstBare}`;
  }

  /** The client's final message, with its proof, for the server's first message. */
  async final(serverFirst: string): Promise<string> {
    const parts = new Map(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
    const nonce = parts.get("r") ?? "";
    const salt = parts.get("s");
    const iterations = Number(parts.get("i"));
    if (!nonce.startsWith(this.#nonce) || salt === undefined || !(iterations > 0)) {
      throw new ConnectionError("EAUTH", "the server's SCRAM message is malformed");
    }
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(this.#password),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: unbase64(salt), iterations },
        key,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#firstBare},${serverFirst},${withoutProof}`;
    const signature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    this.#expected = await hmac(await hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${base64(proof)}`;
  }

  /** Checks the server's signature. */
  verify(serverFinal: string): Promise<void> {
    const signature = /(?:^|,)v=([^,]+)/.exec(serverFinal)?.[1];
    if (signature === undefined || base64(this.#expected!) !== signature) {
      return Promise.reject(
        new ConnectionError("EAUTH", "the server could not prove it knows the password"),
      );
    }
    return Promise.resolve();
  }
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(data)));
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function unbase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
