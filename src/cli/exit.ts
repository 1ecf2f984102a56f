/**
 * The one place where outcomes become exit codes. `docs/exit-codes.md` holds the same table, and
 * a test keeps the two in step.
 */

import { type ErrorCode, InterruptedError, LoktError } from "../errors.ts";

/** Exit codes lokt itself uses (guard also passes its command's status through). */
export const EXIT = {
  ok: 0,
  error: 1,
  held: 2,
  notFound: 3,
  notOwner: 4,
  usage: 64,
  /** guard: the lock was lost (broken by `unlock --force`) while the command ran. */
  lost: 75,
  /** guard: the command does not exist. */
  commandNotFound: 127,
  /** guard: the command exists but cannot be run. */
  commandNotExecutable: 126,
} as const;

/** Exit code for each error code (interruptions add the signal number to 128). */
export const EXIT_BY_CODE: Record<Exclude<ErrorCode, "interrupted">, number> = {
  usage: EXIT.usage,
  invalid_name: EXIT.usage,
  held: EXIT.held,
  frozen: EXIT.held,
  timeout: EXIT.held,
  not_found: EXIT.notFound,
  not_owner: EXIT.notOwner,
  not_stale: EXIT.held,
  slots_mismatch: EXIT.usage,
  unsupported_version: EXIT.error,
  corrupt: EXIT.error,
  invalid_config: EXIT.error,
  io: EXIT.error,
};

/** Signal numbers used for 128+N exit codes. */
export const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). */
export function exitCodeForSignal(signal: Deno.Signal): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15);
}

/** The exit code for anything a command threw. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) {
    // Only the library aborts without a signal; no command does.
    return error.signal === undefined ? EXIT.error : exitCodeForSignal(error.signal);
  }
  if (error instanceof LoktError) {
    return EXIT_BY_CODE[error.code as Exclude<ErrorCode, "interrupted">];
  }
  return EXIT.error;
}
