/**
 * Reading a `postgres://` URL into connection settings, and masking its password for display.
 * Pure: the environment is passed in.
 */

import { BackendUnavailableError } from "./errors.ts";

/** Where and how to connect, as the client takes it. */
export interface ConnectionSettings {
  /** The URL as it may be shown: the password replaced by `***`. */
  display: string;
  host: string;
  port: number;
  /** The server's unix socket, when the URL names a socket directory (`?host=/dir`). */
  socketPath?: string;
  database: string;
  user: string;
  password: string;
  /**
   * TLS: `disable` or `allow` (none), `prefer` (when the server offers it), `require`,
   * `verify-ca` or `verify-full` (always; the certificate is verified in every case).
   */
  sslmode?: string;
  /**
   * A PEM file of the CA certificate(s) the server's certificate must chain to (read when
   * connecting); without it, the runtime's trusted roots.
   */
  sslrootcert?: string;
}

/** The query parameters lokt understands; any other is a typo worth reporting. */
const KNOWN_PARAMETERS = [
  "host",
  "port",
  "sslmode",
  "sslrootcert",
  "user",
  "password",
  "dbname",
];

/** The `sslmode` values libpq knows. */
const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** `text` with the password of its user-info part (if any) replaced by `***`. */
export function maskPassword(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)[^/?#]*@/i, "$1***@")
    .replace(/([?&]password=)[^&#]*/i, "$1***");
}

function malformed(display: string, problem: string): BackendUnavailableError {
  return new BackendUnavailableError(display, `malformed URL: ${problem}`, {
    hint: "write it as postgres://USER@HOST:PORT/DATABASE (a unix socket: " +
      "postgres://USER@/DATABASE?host=/socket/dir); keep the password in PGPASSWORD",
  });
}

/**
 * Reads `text` (a `postgres://` or `postgresql://` URL). Missing parts come from the usual
 * PostgreSQL environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`). Throws a
 * {@link BackendUnavailableError} naming what is wrong.
 */
export function parseDatabaseUrl(
  text: string,
  env: (name: string) => string | undefined,
): ConnectionSettings {
  const display = maskPassword(text);
  // libpq accepts an empty host (`postgres://user@/db?host=/socket/dir`); the URL parser does
  // not, so a placeholder stands in and the host comes from the parameter or the environment.
  const emptyHost = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*@)?(?=[/?#]|$)/i.exec(text);
  const parsed = emptyHost ? text.replace(emptyHost[0], `${emptyHost[0]}placeholder`) : text;
  let url: URL;
  try {
    url = new URL(parsed);
  } catch {
    throw malformed(
      display,
      "not a URL (check the host and port; percent-encode @, / and : in a user or password)",
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw malformed(
      display,
      `the scheme must be postgres:// or postgresql://, not ${url.protocol}//`,
    );
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN_PARAMETERS.includes(key)) {
      throw malformed(
        display,
        `unknown parameter "${key}" (known: ${KNOWN_PARAMETERS.join(", ")})`,
      );
    }
  }
  const param = (key: string) => url.searchParams.get(key) ?? undefined;
  const sslmode = param("sslmode");
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
    throw malformed(display, `unknown sslmode "${sslmode}" (known: ${SSL_MODES.join(", ")})`);
  }
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw malformed(display, `bad percent-encoding in "${part}"`);
    }
  };
  const host = param("host") ??
    (emptyHost ? env("PGHOST") ?? "localhost" : decode(url.hostname));
  const portText = param("port") ?? (url.port || env("PGPORT") || "5432");
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw malformed(display, `bad port "${portText}"`);
  }
  const user = param("user") ?? (url.username ? decode(url.username) : env("PGUSER") ?? "");
  if (user === "") throw malformed(display, "no user name (postgres://USER@...)");
  const path = url.pathname.replace(/^\//, "");
  if (path.includes("/")) throw malformed(display, `bad database name "${decode(path)}"`);
  const database = param("dbname") ?? (path ? decode(path) : env("PGDATABASE") ?? user);
  return {
    display,
    host,
    port,
    socketPath: host.startsWith("/") ? `${host}/.s.PGSQL.${port}` : undefined,
    database,
    user,
    password: param("password") ?? (url.password ? decode(url.password) : env("PGPASSWORD") ?? ""),
    sslmode,
    sslrootcert: param("sslrootcert"),
  };
}
