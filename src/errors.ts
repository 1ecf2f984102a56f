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
  | "slots_mismatch"
  | "interrupted"
  | "unsupported_version"
  | "corrupt"
  | "invalid_config"
  | "io";

/** Base class of every error lokt raises on purpose. */
export class LoktError extends Error {
  /** Stable code, e.g. `"held"`. */
  readonly code: ErrorCode;
  /** What the user can do about it, one line, or undefined. */
  readonly hint?: string;

  /** An error with a stable `code`, what happened, and optionally a hint and a cause. */
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

/** Where in a file a problem sits: 1-based line and column. */
export interface FilePosition {
  line: number;
  column: number;
}

/**
 * A configuration file lokt reads (`lokt.jsonc`, a harness's settings file) that cannot be used:
 * unreadable, not JSON, or a value lokt does not accept. The message starts with
 * `path:line:column:` when the place is known.
 */
export class ConfigError extends LoktError {
  /** The file. */
  readonly path: string;
  /** Where in it, when known. */
  readonly position?: FilePosition;
  /** The problem alone, without the place. */
  readonly problem: string;

  constructor(path: string, problem: string, position?: FilePosition, hint?: string) {
    const place = position === undefined ? path : `${path}:${position.line}:${position.column}`;
    super("invalid_config", `${place}: ${problem}`, { hint });
    this.path = path;
    this.position = position;
    this.problem = problem;
  }
}

/**
 * An operation was interrupted: by a signal (SIGINT, SIGTERM, ...), or by the caller aborting its
 * `AbortSignal` (then the abort's reason is the `cause`).
 */
export class InterruptedError extends LoktError {
  /** The signal that interrupted the operation; undefined when an `AbortSignal` was aborted. */
  readonly signal?: Deno.Signal;

  /** Interrupted by `signal`, or aborted with `{ aborted: reason }`. */
  constructor(by: Deno.Signal | { aborted: unknown }) {
    const signal = typeof by === "string" ? by : undefined;
    super(
      "interrupted",
      typeof by === "string" ? `interrupted by ${by}` : `aborted: ${describeError(by.aborted)}`,
      typeof by === "string" ? undefined : { cause: by.aborted },
    );
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
      `${path} was written by a newer lokt (format version ${version}; this lokt reads ` +
        "version 1); it is left as it is",
      {
        hint: `upgrade lokt to work with it, or remove it with a forced ${
          path.includes("/freezes/") ? "unfreeze" : "release"
        }`,
      },
    );
    this.path = path;
    this.version = version;
  }
}

/**
 * The operating system's reason for a failed call, without the call Deno appends to it:
 * `Permission denied (os error 13)` rather than `... (os error 13): link 'a' -> 'b'`.
 */
export function osReason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.replace(/(\(os error \d+\)):? .*$/s, "$1");
}

/** The errno name of a failed call (`ENOSPC`), when Deno gives one. */
function errnoOf(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** What the user can do about a failed file-system call, judged by its cause. */
function ioHint(cause: unknown): string | undefined {
  if (cause instanceof Deno.errors.PermissionDenied || errnoOf(cause) === "EACCES") {
    return "check the permissions of the lock root and the directories in it " +
      "(`lokt doctor` shows them), or set LOKT_ROOT to a directory you can write";
  }
  if (cause instanceof Deno.errors.NotADirectory) {
    return "a file stands where lokt expects a directory of its lock root; move it away " +
      "(`lokt doctor` checks the layout)";
  }
  if (cause instanceof Deno.errors.FilesystemLoop) {
    return "the lock root holds a symbolic link that points back into itself; remove it";
  }
  switch (errnoOf(cause)) {
    case "ENOSPC":
    case "EDQUOT":
      return "the file system of the lock root is full; free some space and retry " +
        "(held locks and the audit log are kept as they are)";
    case "ENOTEMPTY":
      return "a directory stands where lokt expects a file of its lock root; look inside, then " +
        "remove it by hand";
    case "EROFS":
      return "the lock root is on a read-only file system; set LOKT_ROOT to a writable directory";
  }
  return undefined;
}

/** A file-system operation failed for a reason lokt cannot resolve itself. */
export class IoError extends LoktError {
  constructor(what: string, cause: unknown, hint?: string) {
    super("io", `${what}: ${osReason(cause)}`, { cause, hint: hint ?? ioHint(cause) });
  }
}

/**
 * A symbolic link stands where lokt expects one of its own files or directories. lokt never
 * follows it: a link could lead it to read, create or delete files outside its root.
 */
export class SymlinkError extends LoktError {
  /** The link's path. */
  readonly path: string;

  constructor(path: string, expected: "file" | "directory" = "file") {
    super("io", `${path} is a symbolic link; lokt does not follow links in its root`, {
      hint: expected === "directory"
        ? `replace the link with a directory (\`rm ${path} && mkdir -m 700 ${path}\`); ` +
          "what it points to is left as it is"
        : `remove the link (\`rm ${path}\`); lokt creates its own file there when it needs one`,
    });
    this.path = path;
  }
}

const FILE_SYSTEM_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.PermissionDenied,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
  Deno.errors.FilesystemLoop,
  Deno.errors.Busy,
  Deno.errors.WriteZero,
];

/** Words for the calls Deno names in its error messages. */
const CALLS: Record<string, string> = {
  open: "cannot open",
  readfile: "cannot read",
  readdir: "cannot list",
  writefile: "cannot write",
  mkdir: "cannot create the directory",
  remove: "cannot remove",
  rename: "cannot rename",
  link: "cannot link",
  stat: "cannot examine",
  lstat: "cannot examine",
  realpath: "cannot resolve",
};

/**
 * A file-system error that reached the top without being wrapped, as an {@link IoError} naming
 * the call and path Deno reports; undefined for anything else. An unwritable or full disk is
 * the machine's state, not a bug in lokt, and is shown as such.
 */
export function asIoError(error: unknown): IoError | undefined {
  if (!(error instanceof Error)) return undefined;
  if (!FILE_SYSTEM_ERRORS.some((type) => error instanceof type) && !errnoOf(error)) {
    return undefined;
  }
  const call = error.message.match(/\(os error \d+\):? (\w+) '([^']*)'/);
  const what = call ? `${CALLS[call[1]] ?? `cannot ${call[1]}`} ${call[2]}` : "file system error";
  return new IoError(what, error);
}

/**
 * Any thrown value as a {@link LoktError}: itself, a file-system error as an {@link IoError}, or
 * anything else wrapped with code `io` (its message kept, the value as the cause).
 */
export function toLoktError(error: unknown): LoktError {
  if (error instanceof LoktError) return error;
  return asIoError(error) ?? new LoktError("io", describeError(error), { cause: error });
}

/** Turns any thrown value into a short message, for the last-resort error path. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
