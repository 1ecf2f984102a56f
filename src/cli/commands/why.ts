/** `lokt why NAME`: would acquiring NAME succeed now, and if not, why and what to do. Read-only. */

import { formatAge, formatDuration } from "../../locks/describe.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import { assertValidName } from "../../locks/name.ts";
import type { Verdict } from "../../locks/stale.ts";
import { CORRUPT_GRACE_MS } from "../../locks/store.ts";
import {
  diagnose,
  type Diagnosis,
  processText,
  type SlotsView,
  type WaiterView,
  type WhyReason,
} from "../../locks/why.ts";
import { formatIso } from "../../time.ts";
import { expectPositionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import { recordJson, ticketJson, verdictText } from "../render.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt why`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("why")!, args);
  assertValidName(name);
  const locks = await session.locks();
  const diagnosis = diagnose(
    await locks.whyObservation(name, {
      claim: session.claim(),
      enclosingLockId: session.enclosingLockId(),
    }),
  );
  // Where the locks are: the lock root, or the database URL (password masked).
  const root = locks.info.location;
  if (args.flags.json) {
    session.json({ ...diagnosisJson(diagnosis), root });
  } else {
    session.out(diagnosisText(diagnosis, root));
  }
  return diagnosis.acquirable ? EXIT.ok : EXIT.held;
}

function sec(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms) / 1000 : 0;
}

function holderFields(lock: LockRecord, verdict: Verdict, nowMs: number) {
  return {
    holder_owner: lock.owner,
    holder_host: lock.host,
    holder_agent_id: lock.agentId,
    holder_pid: lock.pid,
    holder_kind: lock.kind,
    holder_command: lock.command ?? [],
    holder_child_pid: lock.child?.pid ?? 0,
    holder_client: lock.client ?? "",
    holder_acquired_ts: formatIso(lock.acquiredMs),
    holder_age_sec: sec(Math.max(0, nowMs - lock.acquiredMs)),
    holder_ttl_sec: lock.ttlMs === undefined ? 0 : sec(lock.ttlMs),
    holder_remaining_sec: lock.expiresMs === undefined
      ? 0
      : sec(Math.max(0, lock.expiresMs - nowMs)),
    holder_expired: verdict.expired,
    holder_overdue_sec: lock.expiresMs === undefined ? 0 : sec(Math.max(0, nowMs - lock.expiresMs)),
    holder_fence: lock.fence,
    holder_lock_id: lock.lockId,
    holder_state: verdict.kind,
    holder_state_reason: verdict.reason,
    holder_scope: verdict.scope,
    pid_status: verdict.scope === "remote" ? "unknown" : verdict.pidState,
    child_status: verdict.childState,
  };
}

function freezeFields(freeze: LockRecord, nowMs: number) {
  return {
    freeze_owner: freeze.owner,
    freeze_host: freeze.host,
    freeze_agent_id: freeze.agentId,
    freeze_reason: freeze.reason ?? "",
    freeze_acquired_ts: formatIso(freeze.acquiredMs),
    freeze_age_sec: sec(Math.max(0, nowMs - freeze.acquiredMs)),
    freeze_ttl_sec: freeze.ttlMs === undefined ? 0 : sec(freeze.ttlMs),
    freeze_remaining_sec: freeze.expiresMs === undefined
      ? 0
      : sec(Math.max(0, freeze.expiresMs - nowMs)),
  };
}

function reasonJson(reason: WhyReason, nowMs: number): Record<string, unknown> {
  const head = { type: reason.type, message: reason.message };
  switch (reason.type) {
    case "frozen":
      return { ...head, ...freezeFields(reason.freeze, nowMs), freeze_expired: false };
    case "freeze-expired":
      return {
        ...head,
        ...freezeFields(reason.freeze, nowMs),
        freeze_expired: true,
        freeze_overdue_sec: sec(reason.overdueMs),
      };
    case "freeze-unreadable":
    case "corrupted":
      return {
        ...head,
        problem: reason.problem,
        age_sec: sec(reason.ageMs),
        blocking: reason.blocking,
      };
    case "freeze-unsupported":
    case "unsupported":
      return { ...head, version: reason.version };
    case "unreadable":
      return { ...head, problem: reason.problem };
    case "self-held":
      return {
        ...head,
        ...holderFields(reason.lock, reason.verdict, nowMs),
        nested: reason.nested,
      };
    case "held":
    case "expired":
    case "dead-pid":
      return { ...head, ...holderFields(reason.lock, reason.verdict, nowMs) };
    case "queued":
      return { ...head, ahead: reason.ahead.length };
  }
}

function waiterJson(waiter: WaiterView, nowMs: number): Record<string, unknown> {
  return { ...ticketJson(waiter.ticket, nowMs), state: waiter.state };
}

function holderOf(d: Diagnosis): { lock: LockRecord; verdict: Verdict } | undefined {
  for (const reason of d.reasons) {
    switch (reason.type) {
      case "self-held":
      case "held":
      case "expired":
      case "dead-pid":
        return { lock: reason.lock, verdict: reason.verdict };
    }
  }
  return undefined;
}

function freezeOf(d: Diagnosis): { freeze: LockRecord; verdict: Verdict } | undefined {
  for (const reason of d.reasons) {
    if (reason.type === "frozen" || reason.type === "freeze-expired") {
      return { freeze: reason.freeze, verdict: reason.verdict };
    }
  }
  return undefined;
}

/** The `--json` shape: snake_case keys, zero values kept. */
export function diagnosisJson(d: Diagnosis): Record<string, unknown> {
  const holder = holderOf(d);
  const freeze = freezeOf(d);
  return {
    name: d.name,
    status: d.acquirable ? "free" : "blocked",
    outcome: d.outcome.kind,
    acquirable: d.acquirable,
    message: d.headline,
    reason: d.cause?.type ?? "",
    reasons: d.reasons.map((r) => reasonJson(r, d.nowMs)),
    holder: holder === undefined ? null : recordJson(holder.lock, holder.verdict, d.nowMs),
    freeze: freeze === undefined ? null : recordJson(freeze.freeze, freeze.verdict, d.nowMs),
    fence: d.fence,
    next_fence: d.nextFence,
    queue: d.waiters.map((w) => waiterJson(w, d.nowMs)),
    queued_ahead: d.waiters.filter((w) => w.state === "waiting").length,
    suggestions: d.suggestions.map((s) => s.action),
    suggestion_notes: d.suggestions.map((s) => s.note ?? ""),
    root_exists: d.rootExists,
    slots: d.slots?.slots ?? 1,
    held: d.slots?.held ?? (holder?.verdict.kind === "live" ? 1 : 0),
    holders: d.slots === undefined
      ? (holder === undefined ? [] : [recordJson(holder.lock, holder.verdict, d.nowMs)])
      : d.slots.seats.flatMap(({ seen }) =>
        seen.kind === "ok" ? [recordJson(seen.record, seen.verdict, d.nowMs)] : []
      ),
  };
}

function holderLine(lock: LockRecord, verdict: Verdict): string {
  return `${lock.owner}@${lock.host} (${processText(lock, verdict)})`;
}

function holderDetails(lock: LockRecord, verdict: Verdict, nowMs: number): string[] {
  const lines: string[] = [];
  const rows: [string, string][] = [];
  if (lock.agentId) rows.push(["Agent", lock.agentId]);
  if (lock.command?.length) rows.push(["Command", lock.command.join(" ")]);
  if (lock.client) rows.push(["MCP client", lock.client]);
  rows.push(["Acquired", formatIso(lock.acquiredMs)]);
  rows.push(["Age", formatAge(nowMs, lock.acquiredMs)]);
  if (lock.ttlMs !== undefined && lock.expiresMs !== undefined) {
    const left = lock.expiresMs - nowMs;
    rows.push([
      "TTL",
      `${formatDuration(lock.ttlMs)} (${
        left >= 0
          ? `${formatDuration(left)} remaining`
          : verdict.kind === "live"
          ? `overdue by ${formatDuration(-left)}; held while a process it names runs`
          : `expired ${formatDuration(-left)} ago`
      })`,
    ]);
  } else {
    rows.push(["TTL", "none"]);
  }
  rows.push(["Liveness", `${verdict.kind}: ${verdictText(verdict)}`]);
  rows.push(["Fence", String(lock.fence)]);
  lines.push(...table(rows));
  if (verdict.scope === "remote") {
    lines.push("    PID liveness cannot be verified (remote host)");
    if (lock.expiresMs === undefined) {
      lines.push("    It has no TTL: it never goes stale; only --force removes it");
    }
  }
  return lines;
}

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `    ${(k + ":").padEnd(width)} ${v}`);
}

function reasonBlock(reason: WhyReason, nowMs: number): string[] {
  switch (reason.type) {
    case "frozen": {
      const f = reason.freeze;
      const rows: [string, string][] = [
        ["Age", formatAge(nowMs, f.acquiredMs)],
        ["Remaining", formatDuration(reason.remainingMs)],
      ];
      if (f.reason) rows.push(["Reason", f.reason]);
      return [`  FROZEN by ${f.owner}@${f.host}`, ...table(rows)];
    }
    case "freeze-expired":
      return [
        `  EXPIRED FREEZE by ${reason.freeze.owner}@${reason.freeze.host} (no longer blocks)`,
        ...table([["Expired", `${formatDuration(reason.overdueMs)} ago`]]),
      ];
    case "freeze-unreadable":
      return [
        "  UNREADABLE freeze file",
        ...table([["Problem", reason.problem], ["Age", formatDuration(reason.ageMs)]]),
        reason.blocking
          ? `    Counts as a freeze until it is ${formatDuration(CORRUPT_GRACE_MS)} old`
          : "    Old enough to be removed by the next acquisition",
      ];
    case "freeze-unsupported":
      return [`  FROZEN (freeze file format version ${reason.version}, newer than this lokt)`];
    case "self-held":
      return [
        reason.nested
          ? "  SELF-HELD (the guard you run under holds this lock)"
          : "  SELF-HELD (you already hold this lock)",
        `    Holder:   ${holderLine(reason.lock, reason.verdict)}`,
        ...holderDetails(reason.lock, reason.verdict, nowMs),
      ];
    case "held":
      return [
        `  HELD by ${holderLine(reason.lock, reason.verdict)}`,
        ...holderDetails(reason.lock, reason.verdict, nowMs),
      ];
    case "expired":
      return [
        `  EXPIRED lock of ${holderLine(reason.lock, reason.verdict)}`,
        ...holderDetails(reason.lock, reason.verdict, nowMs),
      ];
    case "dead-pid":
      return [
        `  STALE (${reason.verdict.reason === "rebooted" ? "machine rebooted" : "dead PID"}) ` +
        `lock of ${holderLine(reason.lock, reason.verdict)}`,
        ...holderDetails(reason.lock, reason.verdict, nowMs),
      ];
    case "corrupted":
      return [
        "  CORRUPTED lock file",
        `    Lock file ${
          reason.problem === "the file is empty" ? "is empty" : "contains invalid JSON"
        }`,
        ...table([["Problem", reason.problem], ["Age", formatDuration(reason.ageMs)]]),
        reason.blocking
          ? `    Counts as held until it is ${
            formatDuration(CORRUPT_GRACE_MS)
          } old (a writer may still be finishing it)`
          : "    Old enough to be replaced by the next acquisition",
      ];
    case "unreadable":
      return ["  UNREADABLE lock file", ...table([["Problem", reason.problem]])];
    case "unsupported":
      return [`  UNSUPPORTED lock file (format version ${reason.version}, newer than this lokt)`];
    case "queued":
      return [`  QUEUED: ${reason.message}`];
  }
}

function waiterLine(w: WaiterView, index: number): string {
  const t = w.ticket;
  const agent = t.agentId ? `agent ${t.agentId}, ` : "";
  const state = w.state === "waiting"
    ? ""
    : w.state === "stalled"
    ? " [stalled: passed over]"
    : " [dead: skipped]";
  return `    ${index + 1}. ${t.owner}@${t.host} (${agent}PID ${t.pid}), waiting ${
    formatDuration(w.waitingMs)
  }${state}`;
}

/** The text shape. */
export function diagnosisText(d: Diagnosis, root: string): string {
  const lines = [d.headline];
  for (const reason of d.reasons) lines.push("", ...reasonBlock(reason, d.nowMs));
  if (d.slots !== undefined) lines.push("", ...slotsBlock(d.slots, d.nowMs));
  lines.push("");
  lines.push(
    d.fence === 0
      ? "  Fence: 0 (never acquired; the first holder gets 1)"
      : `  Fence: ${d.fence} (the next new holder gets ${d.nextFence})`,
  );
  if (d.waiters.length === 0) {
    lines.push("  Queue: empty");
  } else {
    lines.push(`  Queue: ${d.waiters.length} ticket(s)`);
    d.waiters.forEach((w, i) => lines.push(waiterLine(w, i)));
  }
  if (!d.rootExists) lines.push(`  Root:  ${root} does not exist yet (the first lock creates it)`);
  if (d.suggestions.length > 0) {
    lines.push("", "Suggestions:");
    const width = Math.max(...d.suggestions.map((s) => s.action.length));
    for (const s of d.suggestions) {
      lines.push(s.note ? `  - ${s.action.padEnd(width)}  (${s.note})` : `  - ${s.action}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Every slot's holder of a name with N of 2 or more, one line each. */
function slotsBlock(view: SlotsView, nowMs: number): string[] {
  const lines = [`  Slots: ${view.held}/${view.slots} held`];
  for (const { slot, seen } of view.seats) {
    switch (seen.kind) {
      case "ok": {
        const lock = seen.record;
        lines.push(
          `    ${slot}: ${
            holderLine(lock, seen.verdict)
          }, ${seen.verdict.kind}, fence ${lock.fence}, for ${formatAge(nowMs, lock.acquiredMs)}${
            lock.command?.length ? `, running \`${lock.command.join(" ")}\`` : ""
          }`,
        );
        break;
      }
      case "unreadable":
        lines.push(`    ${slot}: unreadable (${seen.problem})`);
        break;
      case "unsupported":
        lines.push(`    ${slot}: written by a newer lokt (format version ${seen.version})`);
        break;
      case "absent":
        break;
    }
  }
  return lines;
}
