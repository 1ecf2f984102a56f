/** The result of one doctor check, and how a set of results sums up. Pure. */

/** How a check came out: fine, worth a look, or broken. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One check's result. */
export interface Check {
  /** Stable identifier, e.g. `"permissions"`. */
  id: string;
  status: CheckStatus;
  /** What was found, one line. */
  message: string;
  /** What to do about it, one line; empty when there is nothing to do. */
  hint: string;
  /** Measured facts, snake_case keys. */
  details: Record<string, unknown>;
}

/** Builds a check result. */
export function check(
  id: string,
  status: CheckStatus,
  message: string,
  options: { hint?: string; details?: Record<string, unknown> } = {},
): Check {
  return { id, status, message, hint: options.hint ?? "", details: options.details ?? {} };
}

/** How many checks came out each way. */
export function countStatuses(checks: readonly Check[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status]++;
  return counts;
}

/** `"3 locks: a, b, c"` capped at a few names, for messages. */
export function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** `0755`. */
export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
