/**
 * When a waiter prints a progress line. Agents pay for every line they read, so a wait says who
 * it waits for once, then only now and then: at most one line every {@link PROGRESS_EVERY_MS}
 * while nothing changes, or when the holder changes, at most one line every
 * {@link PROGRESS_CHANGE_MIN_MS}. Pure.
 */

/** While the holder stays the same, a line at most this often. */
export const PROGRESS_EVERY_MS = 30_000;
/** When the holder changes, a line at most this often. */
export const PROGRESS_CHANGE_MIN_MS = 5_000;
/** The holder's command is cut to about this many characters. */
export const PROGRESS_COMMAND_CHARS = 60;

/** The last line printed: what it was about (the holder's key) and when. */
export interface Printed {
  key: string;
  atMs: number;
}

/**
 * What to print after a blocked attempt at `nowMs` whose blocker is `key`, given the last line:
 * `"start"` (the first line of the wait), `"still"` (same holder, {@link PROGRESS_EVERY_MS} on),
 * `"changed"` (another holder, {@link PROGRESS_CHANGE_MIN_MS} on), or nothing. A change that comes
 * sooner is not lost: the key differs from the last line's until it is printed. A clock that went
 * back lets the next line through.
 */
export function progressDue(
  last: Printed | undefined,
  key: string,
  nowMs: number,
): "start" | "still" | "changed" | undefined {
  if (last === undefined) return "start";
  const sinceMs = nowMs - last.atMs;
  if (key === last.key) return sinceMs >= PROGRESS_EVERY_MS || sinceMs < 0 ? "still" : undefined;
  return sinceMs >= PROGRESS_CHANGE_MIN_MS || sinceMs < 0 ? "changed" : undefined;
}
