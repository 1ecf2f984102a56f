/**
 * Durations as people type them: `500ms`, `90s`, `5m`, `1h30m`, `1.5h`, `2d`. Pure. Shared by the
 * CLI and the library.
 */

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Longest accepted duration: 100 years (keeps every timestamp representable). */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/** Parses a duration to milliseconds, or returns an explanation of what is wrong with it. */
export function parseDuration(text: string): { ms: number } | { problem: string } {
  const input = text.trim();
  if (input === "") return { problem: "a duration cannot be empty (try 30s, 5m or 1h)" };
  if (/^[+-]?\d+(\.\d+)?$/.test(input)) {
    return { problem: `"${input}" has no unit; write ${input}s, ${input}m or ${input}h` };
  }
  if (input.startsWith("-")) {
    return { problem: `"${input}" is negative; durations must be positive` };
  }
  const part = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y;
  let total = 0;
  let at = input.startsWith("+") ? 1 : 0;
  while (at < input.length) {
    part.lastIndex = at;
    const m = part.exec(input);
    if (m === null) {
      return {
        problem: `"${input}" is not a duration; use a number and a unit (ms, s, m, h, d), ` +
          `e.g. 500ms, 90s, 5m, 1h30m, 1.5h`,
      };
    }
    total += Number(m[1]) * UNITS[m[2]];
    at = part.lastIndex;
  }
  if (!(Math.round(total) > 0)) {
    return { problem: `"${input}" is zero; durations must be positive` };
  }
  if (total > MAX_DURATION_MS) return { problem: `"${input}" is too long; the limit is 100 years` };
  return { ms: Math.round(total) };
}
