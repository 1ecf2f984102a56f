/** The acquisition decision of the PostgreSQL backend, with plain values. */

import { assertEquals } from "../../helpers/assert.ts";
import type {
  AcquireRequest,
  JudgedHolder,
  NameState,
  QueueTicket,
} from "../../../src/backends/backend.ts";
import { decideAcquire, type TicketState } from "../../../src/backends/postgres/decide.ts";
import { nextPollMs } from "../../../src/backends/wait.ts";
import type { LockRecord } from "../../../src/locks/lockfile.ts";
import type { Verdict } from "../../../src/locks/stale.ts";

const NOW = 1_000_000;

function record(lockId: string, extra: Partial<LockRecord> = {}): LockRecord {
  return {
    name: "n",
    lockId,
    kind: "guard",
    owner: "o",
    host: "h",
    agentId: lockId,
    pid: 0,
    acquiredMs: NOW - 10,
    fence: 1,
    ...extra,
  };
}

function verdict(kind: "live" | "stale"): Verdict {
  const facts = {
    scope: "remote",
    expired: kind === "stale",
    pidState: "none",
    childState: "none",
  } as const;
  return kind === "live"
    ? { kind, reason: "ttl-running", ...facts }
    : { kind, reason: "expired", ...facts };
}

function holder(
  slot: number,
  lockId: string,
  kind: "live" | "stale",
  extra?: Partial<LockRecord>,
): JudgedHolder {
  return { slot, record: record(lockId, extra), verdict: verdict(kind) };
}

function ticket(seq: number): QueueTicket {
  return { seq, pid: 1, host: "h", owner: "o", agentId: `t${seq}`, sinceMs: NOW, beatMs: NOW };
}

function state(
  slots: number,
  holders: JudgedHolder[],
  waiters: QueueTicket[] = [],
  freeze?: LockRecord,
): NameState {
  return { name: "n", nowMs: NOW, slots, holders, waiters, fence: 7, freeze };
}

const claim = { owner: "me", host: "h", agentId: "me", ancestors: [], pid: 2 };
const req = (extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
  name: "n",
  kind: "guard",
  claim,
  ...extra,
});
const allWaiting = (): TicketState => "waiting";

Deno.test("a free name gives slot 1; a held mutex is held; a stale holder is replaced", () => {
  assertEquals(decideAcquire(state(1, []), [], req(), allWaiting), {
    kind: "take",
    slot: 1,
    slots: 1,
    stale: [],
  });
  const live = [holder(1, "a", "live")];
  assertEquals(decideAcquire(state(1, live), live, req(), allWaiting), {
    kind: "held",
    holders: live,
  });
  const stale = [holder(1, "a", "stale")];
  assertEquals(decideAcquire(state(1, stale), stale, req(), allWaiting), {
    kind: "take",
    slot: 1,
    slots: 1,
    stale,
  });
});

Deno.test("slots: the lowest free slot, held when all are live, a different count while held is refused", () => {
  const hs = [holder(1, "a", "live"), holder(2, "b", "stale"), holder(3, "c", "live")];
  assertEquals(decideAcquire(state(3, hs), hs, req({ slots: 3 }), allWaiting), {
    kind: "take",
    slot: 2,
    slots: 3,
    stale: [hs[1]],
  });
  const full = [holder(1, "a", "live"), holder(2, "b", "live")];
  assertEquals(decideAcquire(state(2, full), full, req({ slots: 2 }), allWaiting).kind, "held");
  assertEquals(decideAcquire(state(2, full), full, req({ slots: 3 }), allWaiting), {
    kind: "slots-mismatch",
    slots: 2,
  });
  // Without live holders, the name takes the count the request names.
  assertEquals(decideAcquire(state(2, []), [], req({ slots: 3 }), allWaiting).kind, "take");
});

Deno.test("the queue: free slots go to the earliest live tickets; dead and stalled ones are passed over", () => {
  const waiters = [ticket(1), ticket(2), ticket(3)];
  assertEquals(decideAcquire(state(1, [], waiters), [], req(), allWaiting), {
    kind: "queued",
    ahead: waiters,
  });
  assertEquals(
    decideAcquire(state(1, [], waiters), [], req({ ticket: ticket(1) }), allWaiting).kind,
    "take",
  );
  assertEquals(
    decideAcquire(state(1, [], waiters), [], req({ ticket: ticket(2) }), allWaiting).kind,
    "queued",
  );
  const firstGone = (t: QueueTicket): TicketState => t.seq === 1 ? "stalled" : "waiting";
  assertEquals(
    decideAcquire(state(1, [], waiters), [], req({ ticket: ticket(2) }), firstGone).kind,
    "take",
  );
  // Two free slots: the second ticket gets one too.
  assertEquals(
    decideAcquire(state(2, [], waiters), [], req({ ticket: ticket(2), slots: 2 }), allWaiting).kind,
    "take",
  );
});

Deno.test("nesting and re-entry come before the freeze; the freeze before the holders", () => {
  const inside = [holder(1, "guard-id", "live")];
  assertEquals(
    decideAcquire(state(1, inside), inside, req({ enclosingLockId: "guard-id" }), allWaiting).kind,
    "nested",
  );
  const mine = [holder(1, "x", "live", { kind: "lock", owner: "me", host: "h", agentId: "me" })];
  const frozen = record("f", { kind: "freeze", expiresMs: NOW + 1_000 });
  assertEquals(
    decideAcquire(state(1, mine, [], frozen), mine, req({ kind: "lock" }), allWaiting).kind,
    "reenter",
  );
  assertEquals(
    decideAcquire(state(1, inside, [], frozen), inside, req(), allWaiting).kind,
    "frozen",
  );
  const thawed = record("f", { kind: "freeze", expiresMs: NOW - 1 });
  assertEquals(decideAcquire(state(1, [], [], thawed), [], req(), allWaiting).kind, "take");
});

Deno.test("a waiter polls at the first lease's end, sooner for holders judged by their process", () => {
  assertEquals(nextPollMs([], NOW), 1_000);
  assertEquals(nextPollMs([holder(1, "a", "live", { expiresMs: NOW + 300 })], NOW), 301);
  const local: JudgedHolder = {
    ...holder(1, "a", "live", { pid: 5 }),
    verdict: { ...verdict("live"), scope: "local" },
  };
  assertEquals(nextPollMs([local], NOW), 250);
});

Deno.test("an attempt repeated with the id of a hold it already took finds that hold", () => {
  const mine = [holder(1, "retry-id", "live")];
  assertEquals(decideAcquire(state(1, mine), mine, req({ lockId: "retry-id" }), allWaiting), {
    kind: "repeated",
    holder: mine[0],
  });
  assertEquals(
    decideAcquire(state(1, mine), mine, req({ lockId: "other" }), allWaiting).kind,
    "held",
  );
});
