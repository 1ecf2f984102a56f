/** Rendering helpers shared by commands: JSON shapes (snake_case, zero values kept) and text. */

import { livenessOf, type LockRecord } from "../locks/lockfile.ts";
import type { Verdict } from "../locks/stale.ts";
import type { Ticket } from "../locks/queue.ts";
import { formatDuration } from "../locks/describe.ts";
import { formatIso } from "../time.ts";

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : formatIso(ms);
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** A lock or freeze record as `--json` output shows it. */
export function recordJson(
  lock: LockRecord,
  verdict: Verdict | undefined,
  nowMs: number,
): Record<string, unknown> {
  return {
    name: lock.name,
    lock_id: lock.lockId,
    kind: lock.kind,
    owner: lock.owner,
    host: lock.host,
    agent_id: lock.agentId,
    pid: lock.pid,
    pid_source: lock.pidSource ?? "",
    child_pid: lock.child?.pid ?? 0,
    command: lock.command ?? [],
    fence: lock.fence,
    acquired_ts: iso(lock.acquiredMs),
    age_sec: seconds(Math.max(0, nowMs - lock.acquiredMs)),
    ttl_sec: lock.ttlMs === undefined ? 0 : seconds(lock.ttlMs),
    expires_at: iso(lock.expiresMs),
    remaining_sec: lock.expiresMs === undefined ? 0 : seconds(Math.max(0, lock.expiresMs - nowMs)),
    expired: verdict?.expired ?? false,
    liveness: livenessOf(lock),
    state: verdict === undefined ? "unknown" : verdict.kind,
    reason: verdict?.reason ?? "",
    pid_status: verdict?.pidState ?? "unknown",
    child_status: verdict?.childState ?? "none",
    reason_text: lock.reason ?? "",
    client: lock.client ?? "",
    ...(lock.kind === "freeze" ? {} : { slot: lock.slot ?? 1, slots: lock.slots ?? 1 }),
  };
}

/** A queue ticket as `--json` output shows it. */
export function ticketJson(ticket: Ticket, nowMs: number): Record<string, unknown> {
  return {
    position: ticket.seq,
    owner: ticket.owner,
    agent_id: ticket.agentId,
    pid: ticket.pid,
    host: ticket.host,
    waiting_sec: seconds(Math.max(0, nowMs - ticket.sinceMs)),
  };
}

/** `expires in 4m0s`, `TTL overdue by 3s`, or `no TTL`. */
export function expiryText(lock: LockRecord, nowMs: number): string {
  if (lock.expiresMs === undefined) return "no TTL";
  const left = lock.expiresMs - nowMs;
  return left >= 0
    ? `expires in ${formatDuration(left)}`
    : `TTL overdue by ${formatDuration(-left)}`;
}

/** Human words for a verdict reason. */
export function verdictText(verdict: Verdict): string {
  switch (verdict.reason) {
    case "guard-alive":
      return "guard running";
    case "command-alive":
      return "guarded command running (guard gone)";
    case "descendant-alive":
      return `a process of the guarded command still runs (pid ${verdict.carrierPid})`;
    case "process-alive":
      return "holder process alive";
    case "ttl-running":
      return "TTL running";
    case "no-expiry":
      return "held until unlocked";
    case "expired":
      return "TTL expired";
    case "dead":
      return "holder process gone";
    case "rebooted":
      return "machine rebooted since";
  }
}
