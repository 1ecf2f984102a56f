/**
 * One contract, every backend: the same cases run against the file backend (a temporary lock
 * root) and the PostgreSQL backend (a private cluster; ignored when no PostgreSQL binaries are
 * installed). Acquire, deny, release and re-entry; leases that run out, renewal and the takeover
 * of a stale holder; breaks; freezes; slots numbered 1 to N; the FIFO queue with its wake-ups;
 * fences; audit events under the same names.
 */

import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { noPostgres, startCluster } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/cli.ts";
import { acquireWaiting, isHeld } from "../../src/backends/wait.ts";
import type { Backend, Holder } from "../../src/backends/backend.ts";
import { openFiles } from "../../src/backends/files/mod.ts";
import { localClaim, probe, remoteClaim } from "./fixture.ts";
import { open as openPostgres } from "./postgres/fixture.ts";

/** Opens backends that share one store: the same `space` is the same set of names. */
interface Store extends AsyncDisposable {
  open(space: string): Promise<Backend>;
}

const ACTOR = { owner: "tester", host: probe.machine().host, pid: Deno.pid, agentId: "t" };

const SUBJECTS: { name: string; ignore: boolean; start(): Promise<Store> }[] = [
  {
    name: "files",
    ignore: false,
    start() {
      const dir = tempDir("lokt-contract-");
      return Promise.resolve({
        open: (space: string) =>
          Promise.resolve(openFiles({ root: `${dir.path}/${space}`, probe, actor: ACTOR })),
        [Symbol.asyncDispose]: () => Promise.resolve(dir[Symbol.dispose]()),
      });
    },
  },
  {
    name: "postgres",
    ignore: noPostgres(),
    async start() {
      const cluster = await startCluster();
      return {
        open: (space: string) => openPostgres(cluster.url, space),
        [Symbol.asyncDispose]: () => cluster.stop(),
      };
    },
  },
];

function held(result: { kind: string; holder?: Holder }): Holder {
  assert(result.holder !== undefined, `expected a hold, got ${JSON.stringify(result)}`);
  return result.holder;
}

/** Waits (without a timing assertion) until the backend's clock passes `ms`. */
async function untilClockPasses(backend: Backend, name: string, ms: number): Promise<void> {
  while ((await backend.observe(name)).nowMs <= ms) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CASES: { name: string; run(store: Store): Promise<void> }[] = [
  {
    name: "acquire, deny, release: one holder in slot 1, fences 1 then 2, the events in the log",
    async run(store) {
      await using b = await store.open("basics");
      const untouched = await b.observe("deploy");
      assertEquals(
        [untouched.slots, untouched.holders, untouched.waiters, untouched.fence, untouched.freeze],
        [1, [], [], 0, undefined],
      );
      assertEquals(await b.names(), []);
      const first = await b.acquire({
        name: "deploy",
        kind: "guard",
        claim: localClaim("a"),
        ttlMs: 30_000,
      });
      assertEquals(first.kind, "acquired");
      const one = held(first);
      assertEquals([one.slot, one.record.fence, one.record.kind], [1, 1, "guard"]);

      const denied = await b.acquire({
        name: "deploy",
        kind: "guard",
        claim: localClaim("b"),
        denyEvent: "deny",
      });
      assertEquals(denied.kind, "held");
      if (denied.kind === "held") {
        assertEquals(denied.holders.map((h) => [h.slot, h.record.lockId]), [
          [1, one.record.lockId],
        ]);
      }

      const wrong = await b.release({
        name: "deploy",
        mode: "owner",
        claim: localClaim("b"),
        lockId: "0123456789abcdef0123456789abcdef",
      });
      assertEquals(wrong.kind, "gone");
      const released = await b.release({
        name: "deploy",
        mode: "owner",
        claim: localClaim("a"),
        lockId: one.record.lockId,
      });
      assertEquals(released.kind, "released");

      const second = held(
        await b.acquire({ name: "deploy", kind: "guard", claim: localClaim("b") }),
      );
      assertEquals(second.record.fence, 2);
      const events = await b.audit.query({ name: "deploy" });
      assertEquals(events.map((e) => e.event), ["acquire", "deny", "release", "acquire"]);
      assertEquals(events[0].record.lock_id, one.record.lockId);
      assertEquals(events[0].record.fence, 1);
      assertEquals(Object.keys(events[0].record), [
        "ts",
        "event",
        "name",
        "lock_id",
        "owner",
        "host",
        "pid",
        "agent_id",
        "ttl_sec",
        "fence",
        "extra",
      ]);
      assertEquals((await b.audit.query({ events: ["deny"] })).length, 1);
      assertEquals(await b.names(), ["deploy"]);
    },
  },
  {
    name: "a plain lock is re-entered by its holder (same fence, new TTL), released without its id",
    async run(store) {
      await using b = await store.open("reentry");
      const a = held(
        await b.acquire({ name: "build", kind: "lock", claim: localClaim("a"), ttlMs: 60_000 }),
      );
      const again = await b.acquire({
        name: "build",
        kind: "lock",
        claim: localClaim("a"),
        ttlMs: 90_000,
      });
      assertEquals(again.kind, "reentered");
      assertEquals(held(again).record.fence, a.record.fence);
      assertEquals(held(again).record.ttlMs, 90_000);
      assertEquals(
        (await b.release({ name: "build", mode: "owner", claim: localClaim("z") })).kind,
        "not-owner",
      );
      assertEquals(
        (await b.release({ name: "build", mode: "owner", claim: localClaim("a") })).kind,
        "released",
      );
      assertEquals((await b.observe("build")).holders, []);
      const events = (await b.audit.query({ name: "build" })).map((e) => e.event);
      assertEquals(events, ["acquire", "renew", "release"]);
    },
  },
  {
    name:
      "a lease runs out by the backend's clock; renew extends it; an expired hold is taken over",
    async run(store) {
      await using b = await store.open("leases");
      const claim = remoteClaim("far-1"); // another host: judged by its lease alone
      const hold = held(await b.acquire({ name: "db", kind: "guard", claim, ttlMs: 400 }));
      const renewed = await b.renew({ name: "db", lockId: hold.record.lockId });
      assertEquals(renewed.kind, "renewed");
      const lease = held(renewed).record;
      assertEquals(lease.ttlMs, 400);
      assert(lease.expiresMs! >= hold.record.expiresMs!, "a renewal never shortens the lease");

      assertEquals(
        (await b.acquire({ name: "db", kind: "guard", claim: localClaim("x") })).kind,
        "held",
      );
      await untilClockPasses(b, "db", lease.expiresMs!);
      const taken = await b.acquire({
        name: "db",
        kind: "guard",
        claim: localClaim("x"),
        ttlMs: 5_000,
      });
      assertEquals(taken.kind, "acquired");
      if (taken.kind !== "acquired") return;
      assertEquals(taken.replaced.map((h) => [h.record.lockId, h.verdict.kind, h.verdict.reason]), [
        [hold.record.lockId, "stale", "expired"],
      ]);
      assertEquals(taken.holder.record.fence, hold.record.fence + 1);
      assertEquals((await b.renew({ name: "db", lockId: hold.record.lockId })).kind, "lost");
      const events = (await b.audit.query({ name: "db" })).map((e) => e.event);
      assertEquals(events, ["acquire", "renew", "auto-prune", "acquire"]);
    },
  },
  {
    name: "breaks: --break-stale leaves a live holder, --force removes it, neither names a hold",
    async run(store) {
      await using b = await store.open("breaks");
      const hold = held(
        await b.acquire({ name: "web", kind: "guard", claim: localClaim("a"), ttlMs: 60_000 }),
      );
      await assertRejects(
        b.release({
          name: "web",
          mode: "force",
          claim: localClaim("z"),
          lockId: hold.record.lockId,
        }),
        TypeError,
      );
      const kept = await b.release({ name: "web", mode: "break-stale", claim: localClaim("z") });
      assertEquals(kept.kind, "not-stale");
      const broken = await b.release({ name: "web", mode: "force", claim: localClaim("z") });
      assertEquals(broken.kind, "broken");
      if (broken.kind === "broken") {
        assertEquals([broken.how, broken.count], ["force", 1]);
        assertEquals(broken.holders.map((h) => h.record.lockId), [hold.record.lockId]);
      }
      assertEquals((await b.renew({ name: "web", lockId: hold.record.lockId })).kind, "lost");
      const events = (await b.audit.query({ name: "web" })).map((e) => e.event);
      assertEquals(events, ["acquire", "force-break"]);
    },
  },
  {
    name: "a freeze refuses acquisitions until it is lifted; only its owner lifts it unforced",
    async run(store) {
      await using b = await store.open("freezes");
      const frozen = await b.freeze({
        name: "prod",
        owner: "ops",
        host: "h",
        agentId: "o",
        ttlMs: 60_000,
        reason: "release",
      });
      assertEquals(frozen.kind, "frozen");
      const refused = await b.acquire({
        name: "prod",
        kind: "guard",
        claim: localClaim("a"),
        denyEvent: "deny",
      });
      assertEquals(refused.kind, "frozen");
      if (refused.kind === "frozen") assertEquals(refused.freeze?.reason, "release");
      assertEquals((await b.observe("prod")).freeze?.owner, "ops");
      assertEquals(
        (await b.unfreeze({ name: "prod", owner: "dev", force: false })).kind,
        "not-owner",
      );
      assertEquals(
        (await b.unfreeze({ name: "prod", owner: "ops", force: false })).kind,
        "unfrozen",
      );
      assertEquals(
        (await b.acquire({ name: "prod", kind: "guard", claim: localClaim("a") })).kind,
        "acquired",
      );
      const events = (await b.audit.query({ name: "prod" })).map((e) => e.event);
      assertEquals(events, ["freeze", "freeze-deny", "unfreeze", "acquire"]);
    },
  },
  {
    name:
      "an expired freeze is removed, its expiry recorded, by the next acquire, freeze or unfreeze",
    async run(store) {
      await using b = await store.open("expired-freezes");
      const by = { owner: "ops", host: "h", agentId: "o", ttlMs: 100 };
      for (const name of ["a", "f", "u"]) {
        assertEquals((await b.freeze({ name, ...by })).kind, "frozen");
      }
      await untilClockPasses(b, "u", (await b.observe("u")).freeze!.expiresMs!); // the last one
      assertEquals(
        (await b.acquire({ name: "a", kind: "lock", claim: localClaim("x") })).kind,
        "acquired",
      );
      assertEquals(
        (await b.freeze({ name: "f", ...by, owner: "dev", ttlMs: 60_000 })).kind,
        "frozen",
      );
      const lifted = await b.unfreeze({ name: "u", owner: "dev", force: false });
      assertEquals([lifted.kind, lifted.kind === "unfrozen" && lifted.forced], ["unfrozen", false]);
      assertEquals((await b.observe("a")).freeze, undefined);
      assertEquals((await b.observe("f")).freeze?.owner, "dev");
      assertEquals((await b.observe("u")).freeze, undefined);
      const events = (await b.audit.query({})).map((e) => `${e.event}:${e.name}`);
      assertEquals(events.slice(3), [
        "freeze-expire:a",
        "acquire:a",
        "freeze-expire:f",
        "freeze:f",
        "freeze-expire:u",
      ]);
    },
  },
  {
    name:
      "three slots: holders in slots 1, 2 and 3, never a fourth, one N at a time, one fence counter",
    async run(store) {
      await using b = await store.open("slots");
      const holders: Holder[] = [];
      for (const agent of ["a", "b", "c"]) {
        holders.push(
          held(
            await b.acquire({ name: "runners", kind: "guard", claim: localClaim(agent), slots: 3 }),
          ),
        );
      }
      assertEquals(holders.map((h) => h.slot).sort(), [1, 2, 3]);
      assertEquals(holders.map((h) => h.record.fence), [1, 2, 3]);
      // The record says which slot of how many, as the commands and LOKT_SLOT show it.
      assertEquals(holders.map((h) => [h.record.slot, h.record.slots]), [[1, 3], [2, 3], [3, 3]]);
      const fourth = await b.acquire({
        name: "runners",
        kind: "guard",
        claim: localClaim("d"),
        slots: 3,
      });
      assertEquals(fourth.kind, "held");
      if (fourth.kind === "held") assertEquals(fourth.holders.length, 3);
      assertEquals(
        await b.acquire({ name: "runners", kind: "guard", claim: localClaim("d"), slots: 2 }),
        { kind: "slots-mismatch", slots: 3 },
      );
      await b.release({
        name: "runners",
        mode: "owner",
        claim: localClaim("b"),
        lockId: holders[1].record.lockId,
      });
      const next = held(
        await b.acquire({ name: "runners", kind: "guard", claim: localClaim("d"), slots: 3 }),
      );
      assertEquals([next.slot, next.record.fence], [holders[1].slot, 4]);
      const state = await b.observe("runners");
      assertEquals([state.slots, state.holders.length, state.fence], [3, 3, 4]);
      assertEquals(state.holders.map((h) => h.slot).sort(), [1, 2, 3]);
    },
  },
  {
    name: "a plain lock's holder asking for another N is refused, not re-entered",
    async run(store) {
      await using b = await store.open("reenter-n");
      const first = held(
        await b.acquire({ name: "pool", kind: "lock", claim: localClaim("a"), slots: 2 }),
      );
      assertEquals(first.slot, 1);
      assertEquals(
        await b.acquire({ name: "pool", kind: "lock", claim: localClaim("a"), slots: 3 }),
        { kind: "slots-mismatch", slots: 2 },
      );
      const again = await b.acquire({
        name: "pool",
        kind: "lock",
        claim: localClaim("a"),
        slots: 2,
      });
      assertEquals(again.kind, "reentered");
    },
  },
  {
    name: "waiters are served first come, first served, woken when the name changes",
    async run(store) {
      await using holder = await store.open("fifo");
      const first = held(
        await holder.acquire({ name: "q", kind: "guard", claim: localClaim("h") }),
      );
      const order: string[] = [];
      const waiters: Promise<void>[] = [];
      for (const agent of ["w1", "w2", "w3"]) {
        const backend = await store.open("fifo");
        waiters.push((async () => {
          try {
            const got = await acquireWaiting(backend, {
              name: "q",
              kind: "guard",
              claim: localClaim(agent),
            }, {
              waiter: {
                pid: Deno.pid,
                host: probe.machine().host,
                owner: "tester",
                agentId: agent,
              },
            });
            assert(isHeld(got), `${agent}: ${got.kind}`);
            order.push(agent);
            await backend.release({
              name: "q",
              mode: "owner",
              claim: localClaim(agent),
              lockId: held(got).record.lockId,
            });
          } finally {
            await backend.close();
          }
        })());
        // The next waiter starts only once this one holds its ticket.
        while ((await holder.observe("q")).waiters.length < order.length + waiters.length) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      const queued = await holder.observe("q");
      assertEquals(queued.waiters.map((w) => [w.agentId, w.pid]), [
        ["w1", Deno.pid],
        ["w2", Deno.pid],
        ["w3", Deno.pid],
      ]);
      await holder.release({
        name: "q",
        mode: "owner",
        claim: localClaim("h"),
        lockId: first.record.lockId,
      });
      await Promise.all(waiters);
      assertEquals(order, ["w1", "w2", "w3"]);
      const state = await holder.observe("q");
      assertEquals([state.waiters.length, state.holders.length, state.fence], [0, 0, 4]);
      const fences = (await holder.audit.query({ name: "q", events: ["acquire"] })).map((e) =>
        e.record.fence
      );
      assertEquals(fences, [1, 2, 3, 4]);
    },
  },
];

for (const subject of SUBJECTS) {
  Deno.test(
    { name: `the backend contract: ${subject.name}`, ignore: subject.ignore },
    async (t) => {
      await using store = await subject.start();
      for (const c of CASES) await t.step(c.name, () => c.run(store));
    },
  );
}
