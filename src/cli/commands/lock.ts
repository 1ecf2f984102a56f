/** `lokt lock NAME`: take a plain lock that outlives this process. */

import { UsageError } from "../../errors.ts";
import type { HeldOutcome } from "../../locks/acquire.ts";
import { formatDuration } from "../../locks/describe.ts";
import { assertValidName } from "../../locks/name.ts";
import { expectPositionals, slotsFlag } from "../args.ts";
import { expiryText, recordJson } from "../render.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";
import { acquireOrWait } from "../waiting.ts";

/** Runs `lokt lock`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("lock")!, args);
  assertValidName(name);
  const { ttl, pid, wait, timeout, quiet, json } = args.flags;
  if (timeout !== undefined && !wait) {
    throw new UsageError(
      "--timeout only applies with --wait",
      `lokt lock ${name} --wait --timeout ${formatDuration(Number(timeout))}`,
    );
  }
  const slots = slotsFlag(args.flags);
  const claim = session.claim(pid as number | undefined);
  const outcome = await acquireOrWait(session, {
    name,
    kind: "lock",
    claim,
    ttlMs: ttl as number | undefined,
    slots,
    enclosingLockId: session.enclosingLockId(),
  }, { wait: wait === true, timeoutMs: timeout as number | undefined, quiet: quiet === true });

  const now = session.world.now();
  const { lock } = outcome;
  const note = outcome.kind !== "nested" && claim.process === undefined
    ? followsNothingNote(session, name, lock.ttlMs !== undefined)
    : undefined;
  if (note !== undefined) session.err(note);
  if (json) {
    session.json(heldJson(name, outcome, now));
    return 0;
  }
  switch (outcome.kind) {
    case "nested":
      session.out(`lock "${name}" is held by the enclosing guard (fence ${lock.fence})\n`);
      break;
    case "reentered":
      session.out(`refreshed lock "${name}" (fence ${lock.fence}, ${expiryText(lock, now)})\n`);
      break;
    case "acquired": {
      const took = outcome.replaced === undefined
        ? ""
        : outcome.replaced.kind === "stale"
        ? `; took over a stale lock of ${outcome.replaced.lock.owner}@${outcome.replaced.lock.host} (${outcome.replaced.verdict.reason})`
        : `; replaced an unreadable lock file (${outcome.replaced.state.problem})`;
      const slot = lock.slots === undefined ? "" : `slot ${lock.slot} of ${lock.slots}, `;
      session.out(
        `acquired lock "${name}" (${slot}fence ${lock.fence}, ${expiryText(lock, now)}${took})\n`,
      );
      break;
    }
  }
  return 0;
}

/** What `lock --json` prints for a hold (the MCP server's `acquire` returns the same). */
export function heldJson(
  name: string,
  outcome: HeldOutcome & { waitedMs: number },
  now: number,
): Record<string, unknown> {
  const { lock } = outcome;
  const replaced = outcome.kind === "acquired" ? outcome.replaced : undefined;
  return {
    status: outcome.kind,
    name,
    fence: lock.fence,
    slot: lock.slot ?? 1,
    slots: lock.slots ?? 1,
    waited_sec: Math.round(outcome.waitedMs) / 1000,
    lock: recordJson(lock, undefined, now),
    replaced: replaced === undefined ? null : replaced.kind === "stale"
      ? {
        kind: "stale",
        reason: replaced.verdict.reason,
        lock: recordJson(replaced.lock, replaced.verdict, now),
      }
      : { kind: "unreadable", problem: replaced.state.problem },
  };
}

/**
 * Says so when a plain lock follows no process because lokt found none that would outlive it, or
 * when nothing names its holder, so that no later command can re-enter or release it.
 */
function followsNothingNote(session: Session, name: string, ttl: boolean): string | undefined {
  const id = session.identity();
  if (id.processScoped) {
    return `note: lock "${name}" is held by ${id.agentSource}: no later command can re-enter or ` +
      `release it; it ends when its TTL runs out or with \`lokt unlock ${name} --force\` ` +
      "(set LOKT_AGENT_ID to name its holder)\n";
  }
  if (id.unanchored === undefined) return undefined;
  return `note: lock "${name}" follows no process (${id.unanchored}): it lasts until ` +
    `${ttl ? "its TTL runs out or " : ""}\`lokt unlock ${name}\`\n`;
}
