/**
 * A shared backend's snapshots as the views read them: judged at the snapshot's clock with this
 * machine's facts, slots by holder, waiters on other hosts remote. Plain values only.
 */

import { assertEquals } from "../../helpers/assert.ts";
import type { NameState, QueueTicket } from "../../../src/backends/backend.ts";
import {
  heldIn,
  listingOf,
  type MachineJudge,
  nameStatusOf,
  observationOf,
  staleIn,
} from "../../../src/backends/shared/views.ts";
import type { ProcessState } from "../../../src/identity/process.ts";
import type { Claim } from "../../../src/locks/holder.ts";
import type { LockRecord } from "../../../src/locks/lockfile.ts";

const NOW = 1_000_000;

/** This machine: `here`, where only pid 10 runs. */
const machine: MachineJudge = {
  machine: { host: "here", bootId: "boot-1" },
  processState: (ref): ProcessState => ref.pid === 10 ? "alive" : "dead",
  carrier: () => null,
};

function record(over: Partial<LockRecord> = {}): LockRecord {
  return {
    name: "build",
    lockId: "id-1",
    kind: "lock",
    owner: "ana",
    host: "there",
    agentId: "a",
    pid: 0,
    acquiredMs: NOW - 5_000,
    ttlMs: 60_000,
    expiresMs: NOW + 55_000,
    fence: 3,
    ...over,
  };
}

function ticket(seq: number, over: Partial<QueueTicket> = {}): QueueTicket {
  return {
    seq,
    pid: 10,
    host: "here",
    bootId: "boot-1",
    owner: "bo",
    agentId: "b",
    sinceMs: NOW - 1_000,
    beatMs: NOW - 100,
    ...over,
  };
}

function state(over: Partial<NameState> = {}): NameState {
  return { name: "build", nowMs: NOW, slots: 1, holders: [], waiters: [], fence: 0, ...over };
}

const asker = {
  claim: { owner: "me", host: "here", agentId: "m", ancestors: [], pid: 99 } as Claim,
};

Deno.test("a lease is judged at the snapshot's clock, not this host's", () => {
  const expired = state({ holders: [{ slot: 1, record: record({ expiresMs: NOW - 1 }) }] });
  assertEquals([heldIn(expired, machine), staleIn(expired, machine)], [false, true]);
  const running = state({ holders: [{ slot: 1, record: record() }] });
  assertEquals([heldIn(running, machine), staleIn(running, machine)], [true, false]);
  assertEquals(heldIn(state(), machine), false);
});

Deno.test("a holder on this host is judged by its process too, one elsewhere by its lease", () => {
  const gone = state({
    holders: [{ slot: 1, record: record({ host: "here", bootId: "boot-1", pid: 11 }) }],
  });
  assertEquals(heldIn(gone, machine), false);
  const remote = state({ holders: [{ slot: 1, record: record({ pid: 11 }) }] });
  assertEquals(heldIn(remote, machine), true);
});

Deno.test("a name with slots lists its holders by slot, with the slot and N in each record", () => {
  const pool = state({
    name: "pool",
    slots: 3,
    holders: [
      { slot: 2, record: record({ name: "pool", lockId: "id-2" }) },
      { slot: 1, record: record({ name: "pool", lockId: "id-1" }) },
    ],
    waiters: [ticket(7)],
    freeze: record({ name: "pool", kind: "freeze", reason: "release" }),
  });
  const listing = listingOf([pool], machine, 0);
  assertEquals(
    listing.locks.map((e) => [e.slot, e.state.kind === "ok" ? e.state.lock.slots : 0]),
    [[1, 3], [2, 3]],
  );
  assertEquals([listing.waiting.get("pool"), listing.freezes.length, listing.nowMs], [1, 1, NOW]);
  const one = nameStatusOf(pool, machine);
  assertEquals([one.plain.state.kind, one.slots.length, one.waiters[0].seq], ["absent", 2, 7]);

  const plain = nameStatusOf(state({ holders: [{ slot: 1, record: record() }] }), machine);
  assertEquals([plain.plain.state.kind, plain.plain.slot, plain.slots], ["ok", undefined, []]);
  assertEquals(listingOf([], machine, 42).nowMs, 42);
});

Deno.test("why sees waiters elsewhere as remote, and judges this host's by their process", () => {
  const observed = observationOf(
    state({
      holders: [{ slot: 1, record: record() }],
      waiters: [ticket(1, { host: "far" }), ticket(2), ticket(3, { pid: 11 })],
      fence: 3,
    }),
    asker,
    machine,
  );
  assertEquals(observed.waiters.map((w) => w.process), ["remote", "alive", "dead"]);
  assertEquals([observed.lock.kind, observed.freeze.kind, observed.fence], ["ok", "absent", 3]);
  assertEquals([observed.rootExists, observed.slots], [true, undefined]);

  const slotted = observationOf(
    state({ slots: 2, holders: [{ slot: 2, record: record() }] }),
    asker,
    machine,
  );
  assertEquals(slotted.lock.kind, "absent");
  assertEquals(slotted.slots?.map((s) => s.slot), [2]);
});
