/** The audit event: one JSON line per lock change. `docs/audit-format.md` documents it. */

import { formatIso } from "../time.ts";

/** Every event lokt writes. */
export const EVENT_NAMES = [
  "acquire",
  "deny",
  "wait",
  "timeout",
  "renew",
  "renew-error",
  "release",
  "lost",
  "auto-prune",
  "corrupt-break",
  "stale-break",
  "force-break",
  "freeze",
  "unfreeze",
  "force-unfreeze",
  "freeze-expire",
  "freeze-deny",
] as const;

/** One of {@link EVENT_NAMES}. */
export type EventName = typeof EVENT_NAMES[number];

/** The acting process: who did it (not necessarily the lock's holder). */
export interface Actor {
  owner: string;
  host: string;
  pid: number;
  agentId: string;
}

/** One audit event as lokt builds it. */
export interface AuditEvent {
  /** Epoch milliseconds. */
  ts: number;
  event: EventName;
  name: string;
  actor: Actor;
  lockId?: string;
  ttlMs?: number;
  fence?: number;
  extra?: Record<string, unknown>;
}

/** Serialises an event as one line of JSON, newline included; zero values are kept. */
export function encodeEvent(event: AuditEvent): string {
  return JSON.stringify({
    ts: formatIso(event.ts),
    event: event.event,
    name: event.name,
    lock_id: event.lockId ?? "",
    owner: event.actor.owner,
    host: event.actor.host,
    pid: event.actor.pid,
    agent_id: event.actor.agentId,
    ttl_sec: event.ttlMs === undefined ? 0 : Math.ceil(event.ttlMs / 1000),
    fence: event.fence ?? 0,
    extra: event.extra ?? {},
  }) + "\n";
}

/** An event as read back from the log: the raw line plus its parsed fields. */
export interface LoggedEvent {
  line: string;
  tsMs: number;
  event: string;
  name: string;
  owner: string;
  record: Record<string, unknown>;
}

/** Parses one log line; undefined for blank or malformed lines (readers skip them). */
export function decodeEventLine(line: string): LoggedEvent | undefined {
  const text = line.trim();
  if (text === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const { ts, event, name, owner } = record;
  if (typeof ts !== "string" || typeof event !== "string" || typeof name !== "string") {
    return undefined;
  }
  const tsMs = Date.parse(ts);
  if (Number.isNaN(tsMs)) return undefined;
  return { line: text, tsMs, event, name, owner: typeof owner === "string" ? owner : "", record };
}
