/**
 * What the MCP server's `status` and `why` tools and its `lokt://status` resource read on a
 * shared backend: the backend's snapshots (`names`, `observe`), judged by the shared pure rules
 * at the backend's clock (a holder on this host also by its processes, as on files), in the
 * shapes the file engine's views give. A shared backend has no unreadable records and no stray
 * files, so those lists are empty.
 */

import type { Backend, BackendInfo, NameState } from "../backends/backend.ts";
import { type ProcessProbe, processState } from "../identity/process.ts";
import { NotFoundError } from "../locks/errors.ts";
import type { LockRecord } from "../locks/lockfile.ts";
import { assertValidName } from "../locks/name.ts";
import { judge, type JudgeContext, scopeOf } from "../locks/stale.ts";
import type { Asker, RecordSeen, WaiterSeen, WhyObservation } from "../locks/why.ts";
import { recordJson, ticketJson } from "../cli/render.ts";

/** The judgement of records read at the backend's `nowMs`. */
function judgeAt(probe: ProcessProbe, nowMs: number): (lock: LockRecord) => RecordSeen {
  const ctx: JudgeContext = {
    nowMs,
    machine: probe.machine(),
    processState: (ref) => processState(probe, ref.pid, ref.start),
    carrier: (lockId) => probe.environmentCarrier("LOKT_LOCK_ID", lockId),
  };
  return (record) => ({ kind: "ok", record, verdict: judge(record, ctx) });
}

/** Which backend, as the views' JSON names it (in place of the lock root). */
export function backendJson(info: BackendInfo): Record<string, unknown> {
  return { kind: info.kind, location: info.location, namespace: info.namespace ?? "" };
}

function tickets(state: NameState) {
  return state.waiters.map((ticket) => ({ ...ticket, path: "" }));
}

function judged(state: NameState, probe: ProcessProbe) {
  const seen = judgeAt(probe, state.nowMs);
  const json = (record: LockRecord) => {
    const one = seen(record);
    return recordJson(record, one.kind === "ok" ? one.verdict : undefined, state.nowMs);
  };
  return json;
}

/** `status --json` without NAME, on a shared backend. */
export async function sharedListingJson(
  backend: Backend,
  probe: ProcessProbe,
  identity: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const locks: Record<string, unknown>[] = [];
  const freezes: Record<string, unknown>[] = [];
  for (const name of await backend.names()) {
    const state = await backend.observe(name);
    const json = judged(state, probe);
    for (const holder of state.holders) {
      locks.push({ ...json(holder.record), waiters: state.waiters.length });
    }
    if (state.freeze !== undefined) freezes.push(json(state.freeze));
  }
  return {
    backend: backendJson(backend.info),
    identity,
    locks,
    freezes,
    unreadable: [],
    strays: [],
    pruned: 0,
  };
}

/** `status NAME --json` on a shared backend; a name nobody holds is {@link NotFoundError}. */
export async function sharedLockJson(
  backend: Backend,
  probe: ProcessProbe,
  name: string,
): Promise<Record<string, unknown>> {
  assertValidName(name);
  const state = await backend.observe(name);
  const json = judged(state, probe);
  const waiters = tickets(state).map((t) => ticketJson(t, state.nowMs));
  if (state.slots > 1) {
    const holders = state.holders.map((h) => json(h.record));
    const held = holders.filter((h) => h.state === "live").length;
    return { name, slots: state.slots, held, holders, unreadable: [], waiters };
  }
  const holder = state.holders[0];
  if (holder === undefined) throw new NotFoundError(name);
  return { ...json(holder.record), waiters };
}

/** What `why` reasons over, read from a shared backend's snapshot of `name`. */
export async function sharedObservation(
  backend: Backend,
  probe: ProcessProbe,
  name: string,
  asker: Asker,
): Promise<WhyObservation> {
  assertValidName(name);
  const state = await backend.observe(name);
  const seen = judgeAt(probe, state.nowMs);
  const machine = probe.machine();
  const waiters: WaiterSeen[] = tickets(state).map((ticket) => {
    const scope = scopeOf(ticket, machine);
    if (scope === "remote") return { ticket, process: "remote" };
    if (scope === "rebooted") return { ticket, process: "dead" };
    const alive = processState(probe, ticket.pid, ticket.start) !== "dead";
    return { ticket, process: alive ? "alive" : "dead" };
  });
  const slotted = state.holders.some((h) => (h.record.slots ?? 1) > 1);
  const absent: RecordSeen = { kind: "absent" };
  return {
    name,
    nowMs: state.nowMs,
    rootExists: true,
    lock: slotted || state.holders[0] === undefined ? absent : seen(state.holders[0].record),
    freeze: state.freeze === undefined ? absent : seen(state.freeze),
    waiters,
    fence: state.fence,
    asker,
    ...(slotted
      ? { slots: state.holders.map((h) => ({ slot: h.slot, seen: seen(h.record) })) }
      : {}),
  };
}
