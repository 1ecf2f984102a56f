/**
 * What an acquisition attempt does with a name's state, decided in the name's critical section.
 * Pure: the state, the request and the judgements come in as plain values. The order is the file
 * engine's (`src/locks/acquire.ts`): nesting and re-entry first, then the freeze, then the
 * holders, then the queue.
 */

import type { AcquireRequest, JudgedHolder, NameState, QueueTicket } from "../backend.ts";
import { type Claim, holds } from "../../locks/holder.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import { isExpired } from "../../locks/stale.ts";

/** What the attempt will do. */
export type Decision =
  /** The request's own hold exists already: an earlier attempt took it. */
  | { kind: "repeated"; holder: JudgedHolder }
  | { kind: "nested"; holder: JudgedHolder }
  | { kind: "reenter"; holder: JudgedHolder }
  | { kind: "frozen"; freeze: LockRecord }
  | { kind: "slots-mismatch"; slots: number }
  | { kind: "held"; holders: JudgedHolder[] }
  | { kind: "queued"; ahead: QueueTicket[] }
  /** Take `slot`, removing every stale holder first. */
  | { kind: "take"; slot: number; slots: number; stale: JudgedHolder[] };

/** A ticket as the queue sees it. */
export type TicketState = "waiting" | "stalled" | "dead";

/** True when `claim` holds `holder`'s plain lock (a `--pid` process judged by the verdict). */
export function claimHolds(holder: JudgedHolder, claim: Claim): boolean {
  const { record, verdict } = holder;
  return holds(record, claim, record.pidSource === "flag" && verdict.pidState !== "dead");
}

/** The active freeze of `state`, if any (an expired one stands for nothing). */
export function activeFreeze(state: NameState): LockRecord | undefined {
  return state.freeze !== undefined && !isExpired(state.freeze, state.nowMs)
    ? state.freeze
    : undefined;
}

/**
 * Decides one attempt. `holders` are the state's holders judged at `state.nowMs`;
 * `ticketState` says whether a queued waiter still holds its turn.
 */
export function decideAcquire(
  state: NameState,
  holders: JudgedHolder[],
  req: AcquireRequest,
  ticketState: (ticket: QueueTicket) => TicketState,
): Decision {
  const repeated = holders.find((h) => req.lockId !== undefined && h.record.lockId === req.lockId);
  if (repeated !== undefined) return { kind: "repeated", holder: repeated };
  for (const holder of holders) {
    if (req.enclosingLockId !== undefined && holder.record.lockId === req.enclosingLockId) {
      return { kind: "nested", holder };
    }
  }
  if (req.kind === "lock") {
    const own = holders.find((h) => claimHolds(h, req.claim));
    // Re-entering with another N is refused as the file engine refuses it.
    if (own !== undefined && state.slots !== (req.slots ?? 1)) {
      return { kind: "slots-mismatch", slots: state.slots };
    }
    if (own !== undefined) return { kind: "reenter", holder: own };
  }
  const freeze = activeFreeze(state);
  if (freeze !== undefined) return { kind: "frozen", freeze };

  const slots = req.slots ?? 1;
  const live = holders.filter((h) => h.verdict.kind === "live");
  if (live.length > 0 && state.slots !== slots) {
    return { kind: "slots-mismatch", slots: state.slots };
  }
  if (live.length >= slots) return { kind: "held", holders: live };

  // A free slot goes to the earliest live waiters: as many of them as there are free slots.
  const free = slots - live.length;
  const waiting = state.waiters.filter((t) =>
    req.ticket === undefined ? true : t.seq < req.ticket.seq
  ).filter((t) => ticketState(t) === "waiting");
  if (waiting.length >= free) return { kind: "queued", ahead: waiting };

  const used = new Set(live.map((h) => h.slot));
  let slot = 1;
  while (used.has(slot)) slot++;
  return { kind: "take", slot, slots, stale: holders.filter((h) => h.verdict.kind === "stale") };
}
