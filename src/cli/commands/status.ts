/** `lokt status [NAME]`: every lock and freeze, or one lock in detail. */

import type { BackendInfo } from "../../backends/backend.ts";
import type { Locks } from "../../backends/locks.ts";
import { formatAge, formatDuration } from "../../locks/describe.ts";
import { NotFoundError, UnreadableLockError } from "../../locks/errors.ts";
import { type Entry, isHeld, problemOf } from "../../locks/inspect.ts";
import { livenessOf, type LockRecord } from "../../locks/lockfile.ts";
import { assertValidName } from "../../locks/name.ts";
import type { NameStatus, StatusListing } from "../../locks/views.ts";
import { UnsupportedVersionError } from "../../errors.ts";
import { expectPositionals } from "../args.ts";
import { expiryText, recordJson, ticketJson, verdictText } from "../render.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";
import { formatIso } from "../../time.ts";

/** Runs `lokt status`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("status")!, args);
  if (name !== undefined) assertValidName(name);
  const prune = args.flags["prune-expired"] === true;
  const locks = await session.locks();
  const pruned = prune ? await prunedLines(session, locks, name) : [];
  if (!args.flags.json) { for (const line of pruned) session.out(`pruned ${line}\n`); }
  return name === undefined
    ? showAll(session, locks, args.flags.json === true, pruned.length)
    : showOne(session, await locks.nameStatus(name), args.flags.json === true);
}

/** Prunes (`--prune-expired`) and says what went, one line each. */
async function prunedLines(session: Session, locks: Locks, only?: string): Promise<string[]> {
  const pruned = await locks.prune(session.claim(), only);
  return pruned.map((p) => {
    switch (p.kind) {
      case "stale-lock":
        return `lock "${p.name}" (${verdictText(p.verdict)})`;
      case "unreadable-lock":
        return `lock "${p.name}" (${p.problem})`;
      case "expired-freeze":
        return `freeze "${p.name}" (expired)`;
      case "orphan-temp":
        return `temporary file tmp/${p.file} (left by a writer that crashed)`;
      case "unused-names": {
        const shown = p.names.slice(0, 5).join(", ") +
          (p.names.length > 5 ? ` and ${p.names.length - 5} more` : "");
        return `${p.names.length} unused name(s): ${shown} (fence files, empty queues)`;
      }
    }
  });
}

/** Who the caller is to lokt, as `status --json` shows it. */
export function identityJson(session: Session): Record<string, unknown> {
  const id = session.identity();
  return {
    owner: id.owner,
    owner_source: id.ownerSource,
    agent_id: id.agentId,
    agent_source: id.agentSource,
    anchor_pid: id.anchor?.pid ?? 0,
  };
}

function stateWord(entry: Entry): string {
  if (entry.kind === "freeze") return "FROZEN";
  if (entry.verdict === undefined) return "UNREADABLE";
  return entry.verdict.kind === "live" ? "live" : "STALE";
}

function holderCell(lock: LockRecord): string {
  const pid = lock.kind === "guard"
    ? `guard ${lock.pid}${lock.child ? `, cmd ${lock.child.pid}` : ""}`
    : lock.pid > 0
    ? `pid ${lock.pid}`
    : "";
  const via = lock.client ? ` via ${lock.client}` : "";
  return `${lock.owner}@${lock.host}${pid ? ` (${pid})` : ""}${via}`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()
  )
    .join("\n") + "\n";
}

/** The backend in use, as `status --json` shows it (passwords masked). */
export function backendJson(info: BackendInfo): Record<string, unknown> {
  return {
    kind: info.kind,
    location: info.location,
    namespace: info.namespace ?? "",
    source: info.source ?? "",
    namespace_source: info.namespaceSource ?? "",
  };
}

/**
 * What `status --json` prints without NAME (the MCP server's `status` tool and `lokt://status`
 * resource return the same). `root` is the backend's location: the lock root, or the database
 * URL with its password masked.
 */
export function listingJson(
  listing: StatusListing,
  info: BackendInfo,
  identity: Record<string, unknown>,
  prunedCount = 0,
): Record<string, unknown> {
  const now = listing.nowMs;
  const readable = (e: Entry) => e.state.kind === "ok";
  const unreadable = [...listing.locks, ...listing.freezes].filter((e) => !readable(e));
  return {
    root: info.location,
    backend: backendJson(info),
    identity,
    locks: listing.locks.filter(readable).map((e) => ({
      ...recordJson((e.state as { lock: LockRecord }).lock, e.verdict, now),
      waiters: listing.waiting.get(e.name) ?? 0,
    })),
    freezes: listing.freezes.filter(readable).map((e) =>
      recordJson((e.state as { lock: LockRecord }).lock, e.verdict, now)
    ),
    unreadable: unreadable.map((e) => ({
      name: e.name,
      kind: e.kind,
      problem: problemOf(e),
      age_sec: "ageMs" in e.state ? e.state.ageMs / 1000 : 0,
    })),
    strays: listing.strays,
    pruned: prunedCount,
  };
}

/** `root PATH`, or `backend URL (namespace NS)`: where the locks shown are. */
function whereText(info: BackendInfo): string {
  return info.kind === "files"
    ? `root ${info.location}`
    : `backend ${info.location} (namespace ${info.namespace ?? ""})`;
}

async function showAll(
  session: Session,
  locks: Locks,
  json: boolean,
  prunedCount: number,
): Promise<number> {
  const listing = await locks.statusListing();
  const now = listing.nowMs;
  const readable = (e: Entry) => e.state.kind === "ok";
  const unreadable = [...listing.locks, ...listing.freezes].filter((e) => !readable(e));
  if (json) {
    session.json(listingJson(listing, locks.info, identityJson(session), prunedCount));
    return 0;
  }
  const id = session.identity();
  session.out(
    `you are ${id.owner}${id.agentId ? ` (agent ${id.agentId})` : ""}; ${whereText(locks.info)}\n`,
  );
  const entries = [...listing.locks, ...listing.freezes];
  if (entries.length === 0) {
    session.out("no locks\n");
  } else {
    const rows = [["NAME", "STATE", "HOLDER", "AGE", "TTL", "FENCE", "WHY"]];
    for (const e of entries) {
      if (e.state.kind !== "ok") {
        rows.push([e.name, stateWord(e), "?", "?", "?", "?", problemOf(e)]);
        continue;
      }
      const lock = e.state.lock;
      const waiters = e.kind === "lock" ? listing.waiting.get(e.name) ?? 0 : 0;
      const slot = e.slot === undefined ? "" : `slot ${e.slot}, ${heldText(listing.locks, e)}; `;
      const why = e.kind === "freeze"
        ? (lock.reason ?? "")
        : `${slot}${verdictText(e.verdict!)}${waiters > 0 ? `; ${waiters} waiting` : ""}`;
      rows.push([
        e.name,
        stateWord(e),
        holderCell(lock),
        formatAge(now, lock.acquiredMs),
        expiryText(lock, now).replace("expires in ", "").replace("no TTL", "-"),
        e.kind === "freeze" ? "-" : String(lock.fence),
        why,
      ]);
    }
    session.out(table(rows));
  }
  const notes: string[] = [];
  if (unreadable.length > 0) {
    notes.push(
      `${unreadable.length} unreadable file(s): ${unreadable.map((e) => e.name).join(", ")} ` +
        "(see `lokt why NAME`; `lokt unlock NAME --force` removes one)",
    );
  }
  if (listing.strays.length > 0) {
    notes.push(
      `${listing.strays.length} file(s) with names no lock can have: ${listing.strays.join(", ")}`,
    );
  }
  for (const note of notes) session.out(`${note}\n`);
  return 0;
}

/** `2/3 held`: the live holders of a slot entry's name, out of its N. */
function heldText(locks: Entry[], entry: Entry): string {
  const slots = entry.state.kind === "ok" ? entry.state.lock.slots ?? 1 : 1;
  const held = locks.filter((e) => e.name === entry.name && e.slot !== undefined && isHeld(e));
  return `${held.length}/${slots} held`;
}

/** The entries of a name taken with slots (its plain record, if any, and every slot's). */
function slotEntries(view: NameStatus): Entry[] | undefined {
  if (view.slots.length === 0) return undefined;
  return view.plain.state.kind === "absent" ? view.slots : [view.plain, ...view.slots];
}

/** How many of a slotted name's N are held, by whom, and its queue. */
function readSlots(view: NameStatus, entries: Entry[]) {
  const records = entries.filter((e) => e.state.kind === "ok");
  // The name's N, as its readable records say (undefined when none of them can be read).
  const counts = records.map((e) => (e.state as { lock: LockRecord }).lock.slots ?? 1);
  const slots = counts.length === 0 ? undefined : Math.max(...counts);
  const held = entries.filter(isHeld).length;
  return { records, slots, held, waiters: view.waiters };
}

/** What `status NAME --json` prints for a name taken with slots. */
function slotsJson(view: NameStatus, entries: Entry[]): Record<string, unknown> {
  const now = view.nowMs;
  const { records, slots, held, waiters } = readSlots(view, entries);
  return {
    name: view.plain.name,
    slots: slots ?? null,
    held,
    holders: records.map((e) => recordJson((e.state as { lock: LockRecord }).lock, e.verdict, now)),
    unreadable: entries.filter((e) => e.state.kind !== "ok").map((e) => ({
      slot: e.slot ?? 1,
      problem: problemOf(e),
    })),
    waiters: waiters.map((t) => ticketJson(t, now)),
  };
}

/** `status NAME` on a name with slots: how many of its N are held, then every holder. */
function showSlots(session: Session, view: NameStatus, entries: Entry[]): number {
  const now = view.nowMs;
  const { slots, held, waiters } = readSlots(view, entries);
  const rows = [["SLOT", "STATE", "HOLDER", "AGE", "TTL", "FENCE", "WHY"]];
  for (const e of entries) {
    if (e.state.kind !== "ok") {
      rows.push([String(e.slot ?? 1), stateWord(e), "?", "?", "?", "?", problemOf(e)]);
      continue;
    }
    const lock = e.state.lock;
    rows.push([
      String(e.slot ?? 1),
      stateWord(e),
      holderCell(lock),
      formatAge(now, lock.acquiredMs),
      expiryText(lock, now).replace("expires in ", "").replace("no TTL", "-"),
      String(lock.fence),
      verdictText(e.verdict!),
    ]);
  }
  session.out(`${view.plain.name}: ${held}/${slots ?? "?"} held\n`);
  session.out(table(rows));
  session.out(
    `waiters: ${
      waiters.length === 0 ? "none" : waiters.map((t) => `${t.owner} (pid ${t.pid})`).join(", ")
    }\n`,
  );
  return 0;
}

/** The lock of `view`, judged, and its queue; throws when there is none or it is unreadable. */
function readOne(view: NameStatus) {
  const entry = view.plain;
  switch (entry.state.kind) {
    case "absent":
      throw new NotFoundError(entry.name);
    case "unsupported":
      throw new UnsupportedVersionError(view.where, entry.state.version);
    case "empty":
    case "corrupt":
      throw new UnreadableLockError(entry.name, entry.state);
    case "unreadable":
      throw entry.state.error; // not a corrupt file: `unlock --force` would not help
    case "ok":
      return { lock: entry.state.lock, verdict: entry.verdict!, waiters: view.waiters };
  }
}

/** What `status NAME --json` prints (and the MCP server's `status` tool with a name). */
export function lockJson(view: NameStatus): Record<string, unknown> {
  const entries = slotEntries(view);
  if (entries !== undefined) return slotsJson(view, entries);
  const { lock, verdict, waiters } = readOne(view);
  const now = view.nowMs;
  return { ...recordJson(lock, verdict, now), waiters: waiters.map((t) => ticketJson(t, now)) };
}

function showOne(session: Session, view: NameStatus, json: boolean): number {
  if (json) {
    session.json(lockJson(view));
    return 0;
  }
  const entries = slotEntries(view);
  if (entries !== undefined) return showSlots(session, view, entries);
  const { lock, verdict, waiters } = readOne(view);
  const name = view.plain.name;
  const now = view.nowMs;
  const lines: [string, string][] = [
    ["name", name],
    ["state", `${verdict.kind} (${verdictText(verdict)})`],
    ["holder", `${lock.owner}@${lock.host}`],
    ["agent", lock.agentId || "-"],
    ["kind", `${lock.kind}, judged by ${livenessOf(lock)}`],
  ];
  if (lock.pid > 0) lines.push(["pid", `${lock.pid} (${verdict.pidState})`]);
  if (lock.child) lines.push(["command pid", `${lock.child.pid} (${verdict.childState})`]);
  if (lock.command?.length) lines.push(["command", lock.command.join(" ")]);
  if (lock.client) lines.push(["mcp client", lock.client]);
  lines.push([
    "acquired",
    `${formatIso(lock.acquiredMs)} (${formatAge(now, lock.acquiredMs)} ago)`,
  ]);
  lines.push([
    "ttl",
    lock.ttlMs === undefined ? "none" : `${formatDuration(lock.ttlMs)}, ${expiryText(lock, now)}`,
  ]);
  lines.push(["fence", String(lock.fence)], ["lock id", lock.lockId]);
  lines.push([
    "waiters",
    waiters.length === 0 ? "none" : waiters.map((t) => `${t.owner} (pid ${t.pid})`).join(", "),
  ]);
  session.out(lines.map(([k, v]) => `${(k + ":").padEnd(13)}${v}`).join("\n") + "\n");
  return 0;
}
