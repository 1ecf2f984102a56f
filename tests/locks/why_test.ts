/** What `why` decides, one row per scenario, from plain observed values. */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import type { ProcessState } from "../../src/identity/process.ts";
import type { Claim } from "../../src/locks/holder.ts";
import type { LockRecord } from "../../src/locks/lockfile.ts";
import type { Ticket } from "../../src/locks/queue.ts";
import { judge } from "../../src/locks/stale.ts";
import {
  diagnose,
  type RecordSeen,
  type WaiterSeen,
  type WhyObservation,
} from "../../src/locks/why.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const HERE = { host: "laptop", bootId: "boot-1", pidNs: "ns-1" };

/** Judges `record` here, now, with these process states (unlisted pids are dead). */
function seenOk(record: LockRecord, states: Record<number, ProcessState> = {}): RecordSeen {
  const verdict = judge(record, {
    nowMs: NOW,
    machine: HERE,
    processState: (ref) => states[ref.pid] ?? "dead",
    carrier: () => null,
  });
  return { kind: "ok", record, verdict };
}

function lock(over: Partial<LockRecord> = {}): LockRecord {
  return {
    name: "build",
    lockId: "lock-1",
    kind: "lock",
    owner: "alice",
    host: "laptop",
    agentId: "agent-a",
    pid: 12345,
    pidSource: "anchor",
    bootId: "boot-1",
    pidNs: "ns-1",
    acquiredMs: NOW - 45_000,
    ttlMs: 300_000,
    expiresMs: NOW + 255_000,
    fence: 3,
    ...over,
  };
}

function freeze(over: Partial<LockRecord> = {}): LockRecord {
  return lock({
    lockId: "freeze-1",
    kind: "freeze",
    owner: "ci",
    host: "server",
    agentId: "",
    pid: 0,
    pidSource: undefined,
    acquiredMs: NOW - 150_000,
    ttlMs: 570_000,
    expiresMs: NOW + 420_000,
    fence: 0,
    ...over,
  });
}

function ticket(seq: number, over: Partial<Ticket> = {}): Ticket {
  return {
    seq,
    path: `/root/queue/build/${seq}.json`,
    pid: 500 + seq,
    host: "laptop",
    owner: `waiter${seq}`,
    agentId: `w${seq}`,
    sinceMs: NOW - 12_000,
    beatMs: NOW - 200,
    ...over,
  };
}

const ME: Claim = {
  owner: "bob",
  host: "laptop",
  agentId: "agent-b",
  ancestors: [],
  pid: 999,
};

function obs(over: Partial<WhyObservation> = {}): WhyObservation {
  return {
    name: "build",
    nowMs: NOW,
    rootExists: true,
    lock: { kind: "absent" },
    freeze: { kind: "absent" },
    waiters: [],
    fence: 3,
    asker: { claim: ME },
    ...over,
  };
}

interface Expected {
  outcome: string;
  acquirable: boolean;
  reasons: string[];
  suggestions: string[];
  /** Patterns the reasons' messages must match, in order. */
  messages?: RegExp[];
}

const waiting = (seq: number): WaiterSeen => ({ ticket: ticket(seq), process: "alive" });

const rows: [string, WhyObservation, Expected][] = [
  [
    "no lock: free, nothing to suggest",
    obs({ fence: 0 }),
    { outcome: "free", acquirable: true, reasons: [], suggestions: [] },
  ],
  [
    "held by another owner on this host, PID alive: blocked, wait or force",
    obs({ lock: seenOk(lock(), { 12345: "alive" }) }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held"],
      suggestions: ["lokt lock build --wait", "lokt unlock build --force  (break-glass)"],
      messages: [/^Held by alice@laptop \(PID 12345, alive\) for 45s$/],
    },
  ],
  [
    "held by another agent of the same owner: blocked",
    obs({ lock: seenOk(lock(), { 12345: "alive" }), asker: { claim: { ...ME, owner: "alice" } } }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held"],
      suggestions: ["lokt lock build --wait", "lokt unlock build --force  (break-glass)"],
    },
  ],
  [
    "held from another host with a running TTL: liveness unknown, --break-stale once it runs out",
    obs({ lock: seenOk(lock({ host: "server" })) }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held"],
      suggestions: [
        "lokt lock build --wait",
        "lokt unlock build --break-stale  (once its TTL runs out, in 4m15s)",
        "lokt unlock build --force  (break-glass)",
      ],
      messages: [
        /^Held by alice@server \(PID 12345\) for 45s — PID liveness cannot be verified \(remote host\)$/,
      ],
    },
  ],
  [
    "held from another host without TTL: never stale, only --force",
    obs({ lock: seenOk(lock({ host: "server", ttlMs: undefined, expiresMs: undefined })) }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held"],
      suggestions: ["lokt lock build --wait", "lokt unlock build --force  (break-glass)"],
      messages: [/remote host\); it has no TTL, so it never goes stale$/],
    },
  ],
  [
    "held from another host, TTL expired: stale, would be taken over",
    obs({ lock: seenOk(lock({ host: "server", expiresMs: NOW - 30_000 })) }),
    {
      outcome: "takeover",
      acquirable: true,
      reasons: ["expired"],
      suggestions: [
        "lokt unlock build --break-stale",
        "lokt lock build --wait  (auto-prunes expired locks)",
      ],
      messages: [/^Held by alice@server \(PID 12345\) for 45s — TTL expired 30s ago$/],
    },
  ],
  [
    "frozen by someone else: wait, or unfreeze as its owner, or force",
    obs({ freeze: seenOk(freeze({ reason: "release 1.2" })) }),
    {
      outcome: "frozen",
      acquirable: false,
      reasons: ["frozen"],
      suggestions: [
        "Wait for freeze to expire (7m0s remaining)",
        "lokt unfreeze build  (if you are ci)",
        "lokt unfreeze build --force  (break-glass)",
      ],
      messages: [/^Frozen by ci@server for 2m30s \(7m0s remaining\): release 1\.2$/],
    },
  ],
  [
    "frozen by the asker: wait or unfreeze, no force needed",
    obs({ freeze: seenOk(freeze({ owner: "bob" })) }),
    {
      outcome: "frozen",
      acquirable: false,
      reasons: ["frozen"],
      suggestions: ["Wait for freeze to expire (7m0s remaining)", "lokt unfreeze build"],
    },
  ],
  [
    "frozen and held: both shown, freeze first, freeze suggestions only",
    obs({
      freeze: seenOk(freeze()),
      lock: seenOk(lock(), { 12345: "alive" }),
    }),
    {
      outcome: "frozen",
      acquirable: false,
      reasons: ["frozen", "held"],
      suggestions: [
        "Wait for freeze to expire (7m0s remaining)",
        "lokt unfreeze build  (if you are ci)",
        "lokt unfreeze build --force  (break-glass)",
      ],
    },
  ],
  [
    "TTL expired on this host: stale, would be taken over, --break-stale or --wait",
    obs({ lock: seenOk(lock({ expiresMs: NOW - 120_000 }), { 12345: "alive" }) }),
    {
      outcome: "takeover",
      acquirable: true,
      reasons: ["expired"],
      suggestions: [
        "lokt unlock build --break-stale",
        "lokt lock build --wait  (auto-prunes expired locks)",
      ],
      messages: [/^Held by alice@laptop \(PID 12345, alive\) for 45s — TTL expired 2m0s ago$/],
    },
  ],
  [
    "holder PID dead on this host: stale, --break-stale",
    obs({ lock: seenOk(lock({ pid: 4242 })) }),
    {
      outcome: "takeover",
      acquirable: true,
      reasons: ["dead-pid"],
      suggestions: [
        "lokt unlock build --break-stale",
        "lokt lock build --wait  (auto-prunes dead locks)",
      ],
      messages: [/^Held by alice@laptop \(PID 4242, dead\) for 45s$/],
    },
  ],
  [
    "holder from before a reboot: stale",
    obs({ lock: seenOk(lock({ bootId: "boot-0" })) }),
    {
      outcome: "takeover",
      acquirable: true,
      reasons: ["dead-pid"],
      suggestions: [
        "lokt unlock build --break-stale",
        "lokt lock build --wait  (auto-prunes dead locks)",
      ],
      messages: [/the machine rebooted since$/],
    },
  ],
  [
    "guard alive past its TTL: still held",
    obs({
      lock: seenOk(lock({ kind: "guard", pid: 70, child: { pid: 71 }, expiresMs: NOW - 3_000 }), {
        70: "alive",
        71: "alive",
      }),
    }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held"],
      suggestions: ["lokt lock build --wait", "lokt unlock build --force  (break-glass)"],
      messages: [
        /^Held by alice@laptop \(guard PID 70, alive; command PID 71, alive\) for 45s — TTL overdue by 3s/,
      ],
    },
  ],
  [
    "corrupted lock file, still young: blocked, --force",
    obs({ lock: { kind: "unreadable", cause: "corrupt", problem: "not JSON", ageMs: 1_000 } }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["corrupted"],
      suggestions: ["lokt unlock build --force  (remove corrupted lock file)"],
      messages: [/^Lock file contains invalid JSON \(not JSON\); it counts as held until it is 5s/],
    },
  ],
  [
    "corrupted lock file, old: would be replaced, --force still suggested",
    obs({ lock: { kind: "unreadable", cause: "corrupt", problem: "not JSON", ageMs: 60_000 } }),
    {
      outcome: "takeover",
      acquirable: true,
      reasons: ["corrupted"],
      suggestions: ["lokt unlock build --force  (remove corrupted lock file)"],
      messages: [/the next acquisition replaces it$/],
    },
  ],
  [
    "empty lock file, old: would be replaced",
    obs({
      lock: { kind: "unreadable", cause: "empty", problem: "the file is empty", ageMs: 9_000 },
    }),
    {
      outcome: "takeover",
      acquirable: true,
      reasons: ["corrupted"],
      suggestions: ["lokt unlock build --force  (remove corrupted lock file)"],
      messages: [/^Lock file is empty/],
    },
  ],
  [
    "lock file that cannot be read: blocked, see doctor",
    obs({ lock: { kind: "unreadable", cause: "io", problem: "permission denied", ageMs: 0 } }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["unreadable"],
      suggestions: ["lokt doctor  (check the lock root's permissions)"],
    },
  ],
  [
    "lock file from a newer lokt: blocked",
    obs({ lock: { kind: "unsupported", version: 2 } }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["unsupported"],
      suggestions: ["lokt unlock build --force  (written by a newer lokt; or upgrade lokt)"],
    },
  ],
  [
    "held by the asker itself: self-held, re-entry would succeed",
    obs({
      lock: seenOk(lock({ owner: "bob", agentId: "agent-b" }), { 12345: "alive" }),
    }),
    {
      outcome: "self-held",
      acquirable: true,
      reasons: ["self-held"],
      suggestions: ["lokt unlock build  (release it)", "lokt lock build  (refresh its TTL)"],
      messages: [/^You already hold this lock \(PID 12345, alive\) for 45s$/],
    },
  ],
  [
    "held by the guard the asker runs under: nested, passes through",
    obs({
      lock: seenOk(lock({ kind: "guard", pid: 70 }), { 70: "alive" }),
      asker: { claim: ME, enclosingLockId: "lock-1" },
    }),
    {
      outcome: "self-held",
      acquirable: true,
      reasons: ["self-held"],
      suggestions: [],
      messages: [/^The guard you run under holds this lock/],
    },
  ],
  [
    "held by the asker while frozen: re-entry still succeeds, freeze shown without advice",
    obs({
      freeze: seenOk(freeze()),
      lock: seenOk(lock({ owner: "bob", agentId: "agent-b" }), { 12345: "alive" }),
    }),
    {
      outcome: "self-held",
      acquirable: true,
      reasons: ["frozen", "self-held"],
      suggestions: ["lokt unlock build  (release it)", "lokt lock build  (refresh its TTL)"],
    },
  ],
  [
    "a lock taken with --pid by the same holder, asked from outside that process: not self-held",
    obs({
      lock: seenOk(lock({ owner: "bob", agentId: "agent-b", pidSource: "flag" }), {
        12345: "alive",
      }),
    }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held"],
      suggestions: ["lokt lock build --wait", "lokt unlock build --force  (break-glass)"],
    },
  ],
  [
    "free but waiters queued: blocked behind the queue",
    obs({ waiters: [waiting(1), waiting(2)] }),
    {
      outcome: "queued",
      acquirable: false,
      reasons: ["queued"],
      suggestions: ["lokt lock build --wait  (join the queue: first come, first served)"],
      messages: [/^2 waiter\(s\) queued ahead of you; first waiter1 \(PID 501\), waiting 12s$/],
    },
  ],
  [
    "stale lock and waiters queued: the waiters take it first",
    obs({ lock: seenOk(lock({ pid: 4242 })), waiters: [waiting(1)] }),
    {
      outcome: "queued",
      acquirable: false,
      reasons: ["dead-pid", "queued"],
      suggestions: [
        "lokt unlock build --break-stale",
        "lokt lock build --wait  (auto-prunes dead locks)",
      ],
    },
  ],
  [
    "held with waiters queued: held, queue listed as a reason too",
    obs({ lock: seenOk(lock(), { 12345: "alive" }), waiters: [waiting(1)] }),
    {
      outcome: "held",
      acquirable: false,
      reasons: ["held", "queued"],
      suggestions: ["lokt lock build --wait", "lokt unlock build --force  (break-glass)"],
    },
  ],
  [
    "only dead and stalled tickets in the queue: free",
    obs({
      waiters: [
        { ticket: ticket(1), process: "dead" },
        { ticket: ticket(2, { beatMs: NOW - 60_000 }), process: "alive" },
      ],
    }),
    { outcome: "free", acquirable: true, reasons: [], suggestions: [] },
  ],
  [
    "expired freeze: no longer blocks, reported",
    obs({ freeze: seenOk(freeze({ expiresMs: NOW - 5_000 })) }),
    {
      outcome: "free",
      acquirable: true,
      reasons: ["freeze-expired"],
      suggestions: [],
      messages: [/^Freeze by ci@server expired 5s ago and no longer blocks/],
    },
  ],
  [
    "unreadable freeze file, young: frozen",
    obs({ freeze: { kind: "unreadable", cause: "corrupt", problem: "not JSON", ageMs: 100 } }),
    {
      outcome: "frozen",
      acquirable: false,
      reasons: ["freeze-unreadable"],
      suggestions: ["lokt unfreeze build --force  (remove the unreadable freeze file)"],
    },
  ],
  [
    "unreadable freeze file, old: removed by the next acquisition",
    obs({ freeze: { kind: "unreadable", cause: "corrupt", problem: "not JSON", ageMs: 60_000 } }),
    { outcome: "free", acquirable: true, reasons: ["freeze-unreadable"], suggestions: [] },
  ],
  [
    "freeze file from a newer lokt: frozen",
    obs({ freeze: { kind: "unsupported", version: 3 } }),
    {
      outcome: "frozen",
      acquirable: false,
      reasons: ["freeze-unsupported"],
      suggestions: ["lokt unfreeze build --force  (written by a newer lokt)"],
    },
  ],
];

for (const [title, observation, expected] of rows) {
  Deno.test(`why: ${title}`, () => {
    const d = diagnose(observation);
    assertEquals(
      {
        outcome: d.outcome.kind,
        acquirable: d.acquirable,
        reasons: d.reasons.map((r) => r.type),
        suggestions: d.suggestions.map((s) => (s.note ? `${s.action}  (${s.note})` : s.action)),
      },
      {
        outcome: expected.outcome,
        acquirable: expected.acquirable,
        reasons: expected.reasons,
        suggestions: expected.suggestions,
      },
    );
    for (const [i, pattern] of (expected.messages ?? []).entries()) {
      assertMatch(d.reasons[i].message, pattern, `reason ${i}`);
    }
    assertMatch(
      d.headline,
      expected.acquirable
        ? /^Lock "build" is (FREE|STALE|HELD BY YOU)/
        : /^Lock "build" is BLOCKED:$/,
    );
  });
}

Deno.test("why: the fence is the larger of the counter and the lock's, and the next is one more", () => {
  assertEquals([diagnose(obs({ fence: 0 })).fence, diagnose(obs({ fence: 0 })).nextFence], [0, 1]);
  const counted = diagnose(obs({ fence: 7, lock: seenOk(lock({ fence: 7 }), { 12345: "alive" }) }));
  assertEquals([counted.fence, counted.nextFence], [7, 8]);
  const noCounter = diagnose(
    obs({ fence: 0, lock: seenOk(lock({ fence: 4 }), { 12345: "alive" }) }),
  );
  assertEquals([noCounter.fence, noCounter.nextFence], [4, 5]);
});

Deno.test("why: waiters are listed in order with their state and how long they have waited", () => {
  const d = diagnose(obs({
    waiters: [
      waiting(1),
      { ticket: ticket(2, { beatMs: NOW - 6_000 }), process: "alive" },
      { ticket: ticket(3, { sinceMs: NOW - 90_000 }), process: "dead" },
      { ticket: ticket(4), process: "remote" },
    ],
  }));
  assertEquals(
    d.waiters.map((w) => [w.ticket.seq, w.state, w.waitingMs]),
    [[1, "waiting", 12_000], [2, "stalled", 12_000], [3, "dead", 90_000], [4, "waiting", 12_000]],
  );
  const queued = d.reasons.find((r) => r.type === "queued");
  assert(queued?.type === "queued");
  assertEquals(queued.ahead.map((w) => w.ticket.seq), [1, 4]);
  assertEquals(d.outcome, { kind: "queued", ahead: 2 });
});

Deno.test("why: a missing root is free, and says so", () => {
  const d = diagnose(obs({ rootExists: false, fence: 0 }));
  assertEquals([d.outcome.kind, d.rootExists, d.fence], ["free", false, 0]);
});

Deno.test("why: the cause is the reason that decided the outcome", () => {
  const frozenSelf = diagnose(obs({
    freeze: seenOk(freeze()),
    lock: seenOk(lock({ owner: "bob", agentId: "agent-b" }), { 12345: "alive" }),
  }));
  assertEquals(frozenSelf.cause?.type, "self-held");
  const frozenHeld = diagnose(obs({
    freeze: seenOk(freeze()),
    lock: seenOk(lock(), { 12345: "alive" }),
    waiters: [waiting(1)],
  }));
  assertEquals(frozenHeld.cause?.type, "frozen");
  const heldQueued = diagnose(
    obs({ lock: seenOk(lock(), { 12345: "alive" }), waiters: [waiting(1)] }),
  );
  assertEquals(heldQueued.cause?.type, "held");
  const staleQueued = diagnose(obs({ lock: seenOk(lock({ pid: 4242 })), waiters: [waiting(1)] }));
  assertEquals(staleQueued.cause?.type, "queued");
  assertEquals(diagnose(obs({ lock: seenOk(lock({ pid: 4242 })) })).cause?.type, "dead-pid");
  assertEquals(diagnose(obs({ freeze: seenOk(freeze({ expiresMs: NOW - 1 })) })).cause, undefined);
});

Deno.test("slots: why decides as acquisition does, and counts every slot's holder", () => {
  const holder = (slot: number, pid: number, over: Partial<LockRecord> = {}) => ({
    slot,
    seen: seenOk(
      lock({
        lockId: `lock-${slot}`,
        agentId: `agent-${slot}`,
        pid,
        slot,
        slots: 3,
        fence: slot,
        ...over,
      }),
      { 101: "alive", 102: "alive", 103: "alive" },
    ),
  });
  const rows: [string, ReturnType<typeof holder>[], string, number][] = [
    ["a free slot", [holder(1, 101), holder(3, 103)], "free", 2],
    ["every slot held", [holder(1, 101), holder(2, 102), holder(3, 103)], "held", 3],
    ["a dead holder's slot", [holder(1, 101), holder(2, 999), holder(3, 103)], "takeover", 2],
  ];
  for (const [what, slots, outcome, held] of rows) {
    const d = diagnose(obs({ slots }));
    assertEquals(d.outcome.kind, outcome, what);
    assertEquals([d.slots?.slots, d.slots?.held], [3, held], what);
    assertEquals(d.fence, 3, `${what}: the largest fence of any slot`);
  }
  const mine = diagnose(obs({
    slots: [holder(1, 101), holder(2, 102, { agentId: ME.agentId, owner: ME.owner })],
  }));
  assertEquals(mine.outcome, { kind: "self-held", nested: false });
});
