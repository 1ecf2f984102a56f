/** Short English descriptions of durations, holders and blockers, shared by errors and output. */

import type { Blocker } from "./acquire.ts";
import type { LockRecord } from "./lockfile.ts";
import { CORRUPT_GRACE_MS } from "./store.ts";

/** `1h2m3s`, `4m0s`, `12s`, `450ms`: whole seconds above a minute, like people read them. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "forever";
  const negative = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${negative ? "-" : ""}${Math.round(rest)}ms`;
  if (rest < 60_000) {
    const s = Math.floor(rest / 100) / 10;
    return `${negative ? "-" : ""}${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  }
  rest = Math.floor(rest / 1000);
  const h = Math.floor(rest / 3600);
  const m = Math.floor((rest % 3600) / 60);
  const s = rest % 60;
  return `${negative ? "-" : ""}${h > 0 ? `${h}h` : ""}${m}m${s}s`;
}

/**
 * How long ago `sinceMs` was at `nowMs`: `4m0s`. Never negative: a stamp later than this clock
 * (the clock was set back, or runs behind the writer's) reads `0s (stamped 3m0s ahead of this
 * machine's clock)`.
 */
export function formatAge(nowMs: number, sinceMs: number): string {
  const age = nowMs - sinceMs;
  return age >= 0
    ? formatDuration(age)
    : `0s (stamped ${formatDuration(-age)} ahead of this machine's clock)`;
}

/** `alice@vm (agent session:42-9, pid 4821)`: who holds a record. */
export function describeHolder(lock: LockRecord): string {
  const details: string[] = [];
  if (lock.agentId) details.push(`agent ${lock.agentId}`);
  if (lock.kind === "guard") {
    details.push(`guard pid ${lock.pid}`);
    if (lock.child) details.push(`command pid ${lock.child.pid}`);
  } else if (lock.pid > 0) {
    details.push(`pid ${lock.pid}`);
  }
  return `${lock.owner}@${lock.host}${details.length ? ` (${details.join(", ")})` : ""}`;
}

/** `text`, or its first `maxChars` characters ending in `...` when it is longer. */
export function cutText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 3))}...`;
}

/**
 * One line on what blocks a name: who holds it, for how long, until when. With `commandChars`,
 * the holder's command is cut to that many characters.
 */
export function describeBlocker(
  name: string,
  blocker: Blocker,
  nowMs: number,
  options: { commandChars?: number } = {},
): string {
  if (blocker.kind === "unreadable") {
    return `lock "${name}" has an unreadable lock file (${blocker.state.problem}); ` +
      `it is treated as held until it is ${formatDuration(CORRUPT_GRACE_MS)} old`;
  }
  const { lock, verdict } = blocker;
  let text = `lock "${name}" held by ${describeHolder(lock)} for ${
    formatAge(nowMs, lock.acquiredMs)
  }`;
  if (lock.kind === "guard" && lock.command?.length) {
    const command = lock.command.join(" ");
    text += ` running \`${
      options.commandChars === undefined ? command : cutText(command, options.commandChars)
    }\``;
  }
  if (lock.expiresMs !== undefined) {
    const left = lock.expiresMs - nowMs;
    text += left >= 0
      ? `, expires in ${formatDuration(left)}`
      : `, TTL overdue by ${formatDuration(-left)} (${verdict.reason.replace("-", " ")})`;
  }
  return text;
}
