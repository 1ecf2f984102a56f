/** The PostgreSQL backend's typed errors. */

import { LoktError } from "../../errors.ts";

/**
 * The lock database cannot be used: the URL is malformed, the server cannot be reached or does
 * not answer in time, or it refused the connection (password, database, privileges). Code `io`
 * (exit 1). The message names the URL with its password masked, and the cause.
 */
export class BackendUnavailableError extends LoktError {
  /** The URL as shown: password masked. */
  readonly url: string;
  /** The cause in words. */
  readonly problem: string;

  constructor(url: string, problem: string, options?: { hint?: string; cause?: unknown }) {
    super("io", `cannot use the lock database ${url}: ${problem}`, {
      hint: options?.hint ??
        "check that the server runs and that the URL, user, password (PGPASSWORD) and " +
          "database name are right",
      cause: options?.cause,
    });
    this.url = url;
    this.problem = problem;
  }
}

/** The database holds lokt's tables in a newer layout than this lokt knows. */
export class SchemaVersionError extends LoktError {
  /** The version found in the database. */
  readonly found: number;

  constructor(url: string, found: number, supported: number) {
    super(
      "unsupported_version",
      `the lock database ${url} has lokt's schema version ${found}; this lokt knows version ` +
        `${supported} and leaves it as it is`,
      { hint: "upgrade lokt on this machine to the version the other machines run" },
    );
    this.found = found;
  }
}
