/**
 * A shared backend's snapshots ({@link NameState}) in the shapes the read-only views take from the
 * file engine: `status`'s entries, `why`'s observation, `exists`'s answer. Pure: the snapshot
 * and this machine's facts come in as values. Holders are judged by the pure `judge` at the
 * snapshot's `nowMs` (the backend's clock), so that a lease reads the same on every host; a
 * holder on this host (same host name, boot and pid namespace) is also judged by its processes,
 * as on files.
 *
 * @module
 */

import type { Holder, NameState, QueueTicket } from "../backend.ts";
import type { Entry } from "../../locks/inspect.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import type { Ticket } from "../../locks/queue.ts";
import { judge, type JudgeContext, scopeOf } from "../../locks/stale.ts";
import type { NameStatus, StatusListing } from "../../locks/views.ts";
import type { Asker, RecordSeen, WaiterSeen, WhyObservation } from "../../locks/why.ts";

/** What judging a snapshot needs from this machine: {@link JudgeContext} without the clock. */
export type MachineJudge = Omit<JudgeContext, "nowMs">;

/** A backend's ticket as the file engine's (which has a file; here none). */
export function ticketOf(ticket: QueueTicket): Ticket {
  return { ...ticket, path: "" };
}

function judgeAt(state: NameState, machine: MachineJudge): JudgeContext {
  return { ...machine, nowMs: state.nowMs };
}

/** A name held with N of 2 or more shows its holders by slot, as files do with slot files. */
function slotted(state: NameState): boolean {
  return state.slots > 1;
}

/**
 * A holder's record as a slot file would carry it: a backend keeps the slot and the name's N
 * beside the record, a slot file in it.
 */
function recordOf(state: NameState, holder: Holder): LockRecord {
  return slotted(state)
    ? { ...holder.record, slot: holder.slot, slots: state.slots }
    : holder.record;
}

function holderEntry(state: NameState, holder: Holder, ctx: JudgeContext): Entry {
  const lock = recordOf(state, holder);
  return {
    name: state.name,
    kind: "lock",
    state: { kind: "ok", lock },
    verdict: judge(lock, ctx),
    ...(slotted(state) ? { slot: holder.slot } : {}),
  };
}

function holderEntries(state: NameState, machine: MachineJudge): Entry[] {
  const ctx = judgeAt(state, machine);
  return [...state.holders]
    .sort((a, b) => a.slot - b.slot)
    .map((holder) => holderEntry(state, holder, ctx));
}

/** True when a live holder holds `state`'s name (at least one slot of it). */
export function heldIn(state: NameState, machine: MachineJudge): boolean {
  const ctx = judgeAt(state, machine);
  return state.holders.some((h) => judge(h.record, ctx).kind === "live");
}

/** True when a holder of `state`'s name is stale (a break of stale holders would remove it). */
export function staleIn(state: NameState, machine: MachineJudge): boolean {
  const ctx = judgeAt(state, machine);
  return state.holders.some((h) => judge(h.record, ctx).kind === "stale");
}

/**
 * Every name's holders and freeze, as `status` lists them; `states` are the snapshots of the
 * backend's names, sorted. Entries are judged each at its own snapshot's clock; the listing is
 * shown against the latest of them (`fallbackMs` when there is none).
 */
export function listingOf(
  states: readonly NameState[],
  machine: MachineJudge,
  fallbackMs: number,
): StatusListing {
  const locks: Entry[] = [];
  const freezes: Entry[] = [];
  const waiting = new Map<string, number>();
  let nowMs: number | undefined;
  for (const state of states) {
    nowMs = Math.max(nowMs ?? state.nowMs, state.nowMs);
    const held = holderEntries(state, machine);
    locks.push(...held);
    if (held.length > 0) waiting.set(state.name, state.waiters.length);
    if (state.freeze !== undefined) {
      freezes.push({
        name: state.name,
        kind: "freeze",
        state: { kind: "ok", lock: state.freeze },
        verdict: judge(state.freeze, judgeAt(state, machine)),
      });
    }
  }
  return { locks, freezes, strays: [], nowMs: nowMs ?? fallbackMs, waiting };
}

/** One name as `status NAME` shows it; `where` names it in messages. */
export function nameStatusOf(state: NameState, machine: MachineJudge): NameStatus {
  const held = holderEntries(state, machine);
  const absent: Entry = { name: state.name, kind: "lock", state: { kind: "absent" } };
  const multi = slotted(state);
  return {
    nowMs: state.nowMs,
    plain: multi ? absent : held[0] ?? absent,
    slots: multi ? held : [],
    waiters: state.waiters.map(ticketOf),
    where: state.name,
  };
}

/**
 * What `why` looks at, from a snapshot: the holders (by slot on a name with N of 2 or more),
 * the freeze, the queue and the fence. A waiter on another host (or pid namespace) is `remote`:
 * only its heartbeat tells; one on this host is judged by its process.
 */
export function observationOf(
  state: NameState,
  asker: Asker,
  machine: MachineJudge,
): WhyObservation {
  const ctx = judgeAt(state, machine);
  const seen = (holder: Holder): RecordSeen => {
    const record = recordOf(state, holder);
    return { kind: "ok", record, verdict: judge(record, ctx) };
  };
  const holders = [...state.holders].sort((a, b) => a.slot - b.slot);
  const waiters: WaiterSeen[] = state.waiters.map((ticket) => {
    const scope = scopeOf(ticket, machine.machine);
    if (scope === "remote") return { ticket: ticketOf(ticket), process: "remote" };
    if (scope === "rebooted") return { ticket: ticketOf(ticket), process: "dead" };
    const process = machine.processState({ pid: ticket.pid, start: ticket.start });
    return { ticket: ticketOf(ticket), process: process === "dead" ? "dead" : "alive" };
  });
  const multi = slotted(state);
  return {
    name: state.name,
    nowMs: state.nowMs,
    rootExists: true,
    lock: multi || holders.length === 0 ? { kind: "absent" } : seen(holders[0]),
    freeze: state.freeze === undefined
      ? { kind: "absent" }
      : { kind: "ok", record: state.freeze, verdict: judge(state.freeze, ctx) },
    waiters,
    fence: state.fence,
    asker,
    ...(multi && holders.length > 0
      ? { slots: holders.map((h) => ({ slot: h.slot, seen: seen(h) })) }
      : {}),
  };
}
