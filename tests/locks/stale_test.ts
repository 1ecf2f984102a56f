/** The liveness precedence table (docs/liveness.md), one row per case. */

import { assertEquals } from "../helpers/assert.ts";
import type { LockRecord } from "../../src/locks/lockfile.ts";
import { judge, type JudgeContext } from "../../src/locks/stale.ts";
import type { ProcessState } from "../../src/identity/process.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const here = { host: "box", bootId: "boot-1", pidNs: "ns-1" };

function base(over: Partial<LockRecord>): LockRecord {
  return {
    name: "x",
    lockId: "id-1",
    kind: "lock",
    owner: "alice",
    host: "box",
    agentId: "",
    pid: 0,
    bootId: "boot-1",
    pidNs: "ns-1",
    acquiredMs: NOW - 60_000,
    fence: 1,
    ...over,
  };
}

function ctx(
  states: Record<number, ProcessState>,
  carrier: number | null | undefined = null,
): JudgeContext {
  return {
    nowMs: NOW,
    machine: here,
    processState: (ref) => states[ref.pid] ?? "dead",
    carrier: () => carrier,
  };
}

const running = { ttlMs: 300_000, expiresMs: NOW + 240_000 };
const overdue = { ttlMs: 10_000, expiresMs: NOW - 50_000 };

type Row = [string, LockRecord, JudgeContext, string];

const rows: Row[] = [
  [
    "guard alive, TTL overdue: live",
    base({ kind: "guard", pid: 10, ...overdue }),
    ctx({ 10: "alive" }),
    "live guard-alive",
  ],
  [
    "guard killed, command alive: live",
    base({ kind: "guard", pid: 10, child: { pid: 11 }, ...running }),
    ctx({ 11: "alive" }),
    "live command-alive",
  ],
  [
    "guard and command gone, a descendant carries the id: live",
    base({ kind: "guard", pid: 10, child: { pid: 11 }, ...running }),
    ctx({}, 99),
    "live descendant-alive",
  ],
  [
    "guard and command gone: stale at once, TTL notwithstanding",
    base({ kind: "guard", pid: 10, child: { pid: 11 }, ...running }),
    ctx({}),
    "stale dead",
  ],
  [
    "guard gone before its command was recorded, no carrier: stale",
    base({ kind: "guard", pid: 10, ...running }),
    ctx({}),
    "stale dead",
  ],
  [
    "guard gone, platform cannot tell carriers: stale",
    base({ kind: "guard", pid: 10, ...running }),
    ctx({}, undefined),
    "stale dead",
  ],
  [
    "guard state unknown: judged by TTL (running)",
    base({ kind: "guard", pid: 10, ...running }),
    ctx({ 10: "unknown" }),
    "live ttl-running",
  ],
  [
    "guard state unknown: judged by TTL (overdue)",
    base({ kind: "guard", pid: 10, ...overdue }),
    ctx({ 10: "unknown" }),
    "stale expired",
  ],
  [
    "guard from another boot: stale",
    base({ kind: "guard", pid: 10, bootId: "boot-0", ...running }),
    ctx({ 10: "alive" }),
    "stale rebooted",
  ],
  [
    "guard from another host, TTL running: live",
    base({ kind: "guard", pid: 10, host: "other", ...running }),
    ctx({}),
    "live ttl-running",
  ],
  [
    "guard from another host, TTL overdue: stale",
    base({ kind: "guard", pid: 10, host: "other", ...overdue }),
    ctx({ 10: "alive" }),
    "stale expired",
  ],
  [
    "guard from another pid namespace: TTL only",
    base({ kind: "guard", pid: 10, pidNs: "ns-2", ...running }),
    ctx({}),
    "live ttl-running",
  ],
  [
    "plain lock, process alive, TTL running: live",
    base({ pid: 10, ...running }),
    ctx({ 10: "alive" }),
    "live process-alive",
  ],
  [
    "plain lock, TTL run out, process alive: stale (the lease ends)",
    base({ pid: 10, ...overdue }),
    ctx({ 10: "alive" }),
    "stale expired",
  ],
  [
    "plain lock, process dead, TTL running: stale",
    base({ pid: 10, ...running }),
    ctx({ 10: "dead" }),
    "stale dead",
  ],
  [
    "plain lock, process state unknown, TTL running: live",
    base({ pid: 10, ...running }),
    ctx({ 10: "unknown" }),
    "live ttl-running",
  ],
  ["plain lock, no process, TTL running: live", base({ ...running }), ctx({}), "live ttl-running"],
  ["plain lock, no process, TTL run out: stale", base({ ...overdue }), ctx({}), "stale expired"],
  ["plain lock, no process, no TTL: held until unlocked", base({}), ctx({}), "live no-expiry"],
  [
    "plain lock from another boot, with a process: stale",
    base({ pid: 10, bootId: "boot-0" }),
    ctx({ 10: "alive" }),
    "stale rebooted",
  ],
  [
    "plain lock from another boot, TTL only, running: live",
    base({ bootId: "boot-0", ...running }),
    ctx({}),
    "live ttl-running",
  ],
  [
    "plain lock from another host, process named: TTL only",
    base({ pid: 10, host: "other", ...running }),
    ctx({ 10: "dead" }),
    "live ttl-running",
  ],
  [
    "plain lock from another host, no TTL: held until unlocked",
    base({ pid: 10, host: "other" }),
    ctx({}),
    "live no-expiry",
  ],
  [
    "guard recorded with a macOS boot time (before boot UUIDs), guard alive: the boot is not another",
    base({ kind: "guard", pid: 10, bootId: "1763788118", ...running }),
    {
      ...ctx({ 10: "alive" }),
      machine: { host: "box", bootId: "9F6B2B1E-1C3D-4E5F-8A9B-0C1D2E3F4A5B" },
    },
    "live guard-alive",
  ],
  ["freeze, TTL running: live", base({ kind: "freeze", ...running }), ctx({}), "live ttl-running"],
  ["freeze, TTL run out: stale", base({ kind: "freeze", ...overdue }), ctx({}), "stale expired"],
];

for (const [title, lock, context, expected] of rows) {
  Deno.test(`liveness: ${title}`, () => {
    const verdict = judge(lock, context);
    assertEquals(`${verdict.kind} ${verdict.reason}`, expected);
  });
}

Deno.test("liveness: an overdue TTL is reported even when a live guard keeps the lock", () => {
  const verdict = judge(base({ kind: "guard", pid: 10, ...overdue }), ctx({ 10: "alive" }));
  assertEquals(verdict.expired, true);
  assertEquals(verdict.kind, "live");
});
