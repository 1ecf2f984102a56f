/** What `prime` knows about a repository: its guardable scripts and what its lock root holds. */

import { formatDuration } from "../locks/describe.ts";
import type { Entry, Listing } from "../locks/inspect.ts";
import type { RepoScript } from "./scripts.ts";

/** A lock found in the root when the instructions were generated. */
export interface HeldLock {
  name: string;
  /** `lock` for `lokt lock`, `guard` for a guarded command (or a library holder). */
  kind: "lock" | "guard";
  /** `owner@host`. */
  holder: string;
  agentId: string;
  /** The guarded command, if any. */
  command: string[];
  ageMs: number;
  /** `live`, or `stale` (the next taker takes it over). */
  state: "live" | "stale";
}

/** A freeze found in the root. */
export interface ActiveFreeze {
  name: string;
  holder: string;
  /** Time left, or undefined for no TTL. */
  remainingMs?: number;
  reason: string;
}

/** A `guard` rule of lokt.jsonc, as the instructions show it. */
export interface GuardedCommand {
  /** The rule's regex. */
  pattern: string;
  /** The lock for a guard rule; undefined for a rule that asks the user first. */
  lockName?: string;
  /** An ask rule's reason. */
  ask?: string;
}

/** Everything the instructions are generated from. */
export interface PrimeFacts {
  /** lokt.jsonc's guard rules, which a harness hook applies by itself. */
  guarded?: GuardedCommand[];
  scripts: RepoScript[];
  locks: HeldLock[];
  freezes: ActiveFreeze[];
  /** Names whose files could not be read. */
  unreadable: string[];
  /**
   * The shared backend `LOKT_BACKEND` or lokt.jsonc chooses, if one does: where (password
   * masked) and the namespace (undefined when none is set yet). Its locks are not listed: prime
   * does not connect.
   */
  shared?: { location: string; namespace?: string };
}

/** Turns a listing of the root (read-only, judged at `nowMs`) into locks, freezes and problems. */
export function rootFacts(
  listing: Listing,
  nowMs: number,
): Pick<PrimeFacts, "locks" | "freezes" | "unreadable"> {
  const locks: HeldLock[] = [];
  const freezes: ActiveFreeze[] = [];
  const unreadable: string[] = [];
  const ok = (e: Entry) => e.state.kind === "ok" && e.verdict !== undefined;
  for (const entry of listing.locks) {
    if (!ok(entry) || entry.state.kind !== "ok") {
      unreadable.push(entry.name);
      continue;
    }
    const lock = entry.state.lock;
    locks.push({
      name: entry.name,
      kind: lock.kind === "guard" ? "guard" : "lock",
      holder: `${lock.owner}@${lock.host}`,
      agentId: lock.agentId,
      command: lock.command ?? [],
      ageMs: Math.max(0, nowMs - lock.acquiredMs),
      state: entry.verdict!.kind,
    });
  }
  for (const entry of listing.freezes) {
    if (!ok(entry) || entry.state.kind !== "ok") {
      unreadable.push(entry.name);
      continue;
    }
    // An expired freeze no longer blocks anything.
    if (entry.verdict!.kind === "stale") continue;
    const lock = entry.state.lock;
    freezes.push({
      name: entry.name,
      holder: `${lock.owner}@${lock.host}`,
      remainingMs: lock.expiresMs === undefined ? undefined : Math.max(0, lock.expiresMs - nowMs),
      reason: lock.reason ?? "",
    });
  }
  return { locks, freezes, unreadable };
}

/** One line about a held lock, for people and agents. */
export function describeHeldLock(lock: HeldLock): string {
  const who = `${lock.holder}${lock.agentId ? ` (agent ${lock.agentId})` : ""}`;
  const what = lock.kind === "guard" && lock.command.length > 0
    ? `, running \`${lock.command.join(" ")}\``
    : "";
  const state = lock.state === "stale"
    ? "; stale: its holder is gone, the next taker takes it"
    : "";
  return `\`${lock.name}\`: held by ${who}${what}, for ${formatDuration(lock.ageMs)}${state}`;
}

/** One line about a freeze. */
export function describeFreeze(freeze: ActiveFreeze): string {
  const left = freeze.remainingMs === undefined
    ? "until unfrozen"
    : `for ${formatDuration(freeze.remainingMs)} more`;
  const reason = freeze.reason ? `: "${freeze.reason}"` : "";
  return `\`${freeze.name}\`: frozen by ${freeze.holder} ${left}${reason}`;
}
