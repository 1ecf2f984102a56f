/**
 * Typed errors shared by the core and the CLI. Each carries a stable `code`; the CLI maps codes to
 * exit codes in exactly one place (`src/cli/exit.ts`).
 *
 * @module
 */

/** Stable machine-readable error codes. Part of the `--json` output contract. */
export type ErrorCode =
  | "usage"
  | "invalid_name"
  | "held"
  | "frozen"
  | "timeout"
  | "not_found"
  | "not_owner"
  | "not_stale"
  | "interrupted"
  | "unsupported_version"
  | "corrupt"
  | "io";

/** Base class of every error lokt raises on purpose. */
export class LoktError extends Error {
  /** Stable code, e.g. `"held"`. */
  readonly code: ErrorCode;
  /** What the user can do about it, one line, or undefined. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options?.hint;
  }
}

/** Bad command line: unknown flag, missing argument, malformed duration. */
export class UsageError extends LoktError {
  constructor(message: string, hint?: string) {
    super("usage", message, { hint });
  }
}

/** A lock name that breaks the naming rules; raised before any file is touched. */
export class InvalidNameError extends LoktError {
  /** The rejected name, as given. */
  readonly lockName: string;

  constructor(lockName: string, problem: string) {
    super("invalid_name", `invalid lock name ${JSON.stringify(lockName)}: ${problem}`, {
      hint: "names use letters, digits, '.', '_' and '-', start with a letter or digit, " +
        "and are at most 128 characters long",
    });
    this.lockName = lockName;
  }
}

/** An operation was interrupted by a signal (SIGINT, SIGTERM, ...). */
export class InterruptedError extends LoktError {
  /** The signal that interrupted the operation. */
  readonly signal: Deno.Signal;

  constructor(signal: Deno.Signal) {
    super("interrupted", `interrupted by ${signal}`);
    this.signal = signal;
  }
}

/** A file lokt reads was written by a newer lokt; it is never touched. */
export class UnsupportedVersionError extends LoktError {
  /** The path of the file. */
  readonly path: string;
  /** The version the file declares. */
  readonly version: number;

  constructor(path: string, version: number) {
    super(
      "unsupported_version",
      `${path} has format version ${version}; this lokt understands version 1 only`,
      { hint: "upgrade lokt, or remove the file with `lokt unlock --force NAME`" },
    );
    this.path = path;
    this.version = version;
  }
}

/** A file-system operation failed for a reason lokt cannot resolve itself. */
export class IoError extends LoktError {
  constructor(what: string, cause: unknown) {
    super("io", `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Turns any thrown value into a short message, for the last-resort error path. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
