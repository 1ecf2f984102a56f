/**
 * The PostgreSQL backend against a private cluster: acquisition, release and renewal under the
 * name's critical section, leases judged by the database's clock, fences, freezes, slots, the
 * FIFO queue with LISTEN/NOTIFY wake-ups, the audit table and the schema version.
 */

import { assert, assertEquals, assertRejects } from "../../helpers/assert.ts";
import { noPostgres, startCluster } from "../../helpers/postgres.ts";
import { SchemaVersionError } from "../../../src/backends/postgres/mod.ts";
import { acquireWaiting, isHeld } from "../../../src/backends/wait.ts";
import type { Backend, Holder } from "../../../src/backends/backend.ts";
import { localClaim, open, probe, remoteClaim } from "./fixture.ts";
import postgres from "npm:postgres@3.4.7";

function held(result: { kind: string; holder?: Holder }): Holder {
  assert(result.holder !== undefined, `expected a hold, got ${JSON.stringify(result)}`);
  return result.holder;
}

/** Waits (without a timing assertion) until the database's clock passes `ms`. */
async function untilDatabasePasses(backend: Backend, name: string, ms: number): Promise<void> {
  while ((await backend.observe(name)).nowMs <= ms) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({ name: "the PostgreSQL backend", ignore: noPostgres() }, async (t) => {
  await using cluster = await startCluster();

  await t.step(
    "acquire, deny, release: one holder, fences 1 then 2, audit rows as log lines",
    async () => {
      await using b = await open(cluster.url, "basics");
      const first = await b.acquire({
        name: "deploy",
        kind: "guard",
        claim: localClaim("a"),
        ttlMs: 30_000,
      });
      assertEquals(first.kind, "acquired");
      const one = held(first);
      assertEquals([one.slot, one.record.fence, one.record.kind], [0, 1, "guard"]);

      const denied = await b.acquire({
        name: "deploy",
        kind: "guard",
        claim: localClaim("b"),
        denyEvent: "deny",
      });
      assertEquals(denied.kind, "held");

      const wrong = await b.release({
        name: "deploy",
        mode: "owner",
        claim: localClaim("b"),
        lockId: "nope",
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
    },
  );

  await t.step(
    "a plain lock is re-entered by its holder (same fence) and released without its id",
    async () => {
      await using b = await open(cluster.url, "reentry");
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
    },
  );

  await t.step(
    "a lease runs out by the database's clock; renew extends it; an expired hold is taken over",
    async () => {
      await using b = await open(cluster.url, "leases");
      const claim = remoteClaim("far-1"); // another host: judged by its lease alone
      const hold = held(await b.acquire({ name: "db", kind: "guard", claim, ttlMs: 400 }));
      const renewed = await b.renew({ name: "db", lockId: hold.record.lockId, ttlMs: 600 });
      assertEquals(renewed.kind, "renewed");
      const lease = held(renewed).record;
      assert(lease.expiresMs! >= hold.record.expiresMs!, "a renewal never shortens the lease");

      assertEquals(
        (await b.acquire({ name: "db", kind: "guard", claim: localClaim("x") })).kind,
        "held",
      );
      await untilDatabasePasses(b, "db", lease.expiresMs!);
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
  );

  await t.step(
    "a freeze refuses acquisitions until it is lifted; only its owner lifts it unforced",
    async () => {
      await using b = await open(cluster.url, "freezes");
      const frozen = await b.freeze({
        name: "prod",
        owner: "ops",
        host: "h",
        agentId: "o",
        ttlMs: 60_000,
        reason: "release",
      });
      assertEquals(frozen.kind, "frozen");
      assertEquals(
        (await b.acquire({ name: "prod", kind: "guard", claim: localClaim("a") })).kind,
        "frozen",
      );
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
    },
  );

  await t.step(
    "three slots: three holders with distinct slots, the fourth is held, one fence counter",
    async () => {
      await using b = await open(cluster.url, "slots");
      const holders: Holder[] = [];
      for (const agent of ["a", "b", "c"]) {
        holders.push(
          held(
            await b.acquire({ name: "runners", kind: "guard", claim: localClaim(agent), slots: 3 }),
          ),
        );
      }
      assertEquals(holders.map((h) => h.slot).sort(), [0, 1, 2]);
      assertEquals(holders.map((h) => h.record.fence), [1, 2, 3]);
      const fourth = await b.acquire({
        name: "runners",
        kind: "guard",
        claim: localClaim("d"),
        slots: 3,
      });
      assertEquals(fourth.kind, "held");
      assertEquals(
        (await b.acquire({ name: "runners", kind: "guard", claim: localClaim("d"), slots: 2 }))
          .kind,
        "slots-mismatch",
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
    },
  );

  await t.step("waiters are served first come, first served, woken by notifications", async () => {
    await using holder = await open(cluster.url, "fifo");
    const first = held(await holder.acquire({ name: "q", kind: "guard", claim: localClaim("h") }));
    const order: string[] = [];
    const waiters: Promise<void>[] = [];
    for (const agent of ["w1", "w2", "w3"]) {
      const backend = await open(cluster.url, "fifo");
      waiters.push((async () => {
        try {
          const got = await acquireWaiting(backend, {
            name: "q",
            kind: "guard",
            claim: localClaim(agent),
          }, {
            waiter: { pid: Deno.pid, host: probe.machine().host, owner: "tester", agentId: agent },
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
  });

  await t.step(
    "fences keep increasing across crashes of the server (pg_ctl restart -m immediate)",
    async () => {
      const fences: number[] = [];
      for (let round = 0; round < 3; round++) {
        await using b = await open(cluster.url, "restarts");
        for (let i = 0; i < 3; i++) {
          const h = held(
            await b.acquire({ name: "fenced", kind: "guard", claim: localClaim("f") }),
          );
          fences.push(h.record.fence);
          await b.release({
            name: "fenced",
            mode: "owner",
            claim: localClaim("f"),
            lockId: h.record.lockId,
          });
        }
        await cluster.crashRestart();
      }
      assertEquals(fences, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await using b = await open(cluster.url, "restarts");
      assertEquals((await b.observe("fenced")).fence, 9);
      assertEquals(
        (await b.audit.query({ events: ["acquire"] })).map((e) => e.record.fence),
        fences,
      );
    },
  );

  await t.step(
    "the transaction-id guard writes inside its transaction and nothing elsewhere",
    async () => {
      const options = { path: `${cluster.dir}/.s.PGSQL.5432`, user: "lokt", database: "postgres" };
      const one = postgres({ ...options, max: 1, fetch_types: false, onnotice: () => {} });
      const other = postgres({ ...options, max: 1, fetch_types: false, onnotice: () => {} });
      try {
        await one.begin(async (tx) => {
          const [{ xid }] = await tx`select pg_current_xact_id()::text as xid`;
          const guard = (sql: typeof other) => sql`pg_current_xact_id_if_assigned() = ${xid}::xid8`;
          // As the second round trip would run on a new connection: outside the transaction.
          const outside = await other`insert into lokt.names (namespace, name)
          select 'guard', 'outside' where ${guard(other)} returning name`;
          const inside = await tx`insert into lokt.names (namespace, name)
          select 'guard', 'inside' where ${guard(tx)} returning name`;
          assertEquals([outside.length, inside.length], [0, 1]);
        });
        const rows = await other`select name from lokt.names where namespace = 'guard'`;
        assertEquals(rows.map((r) => r.name), ["inside"]);
      } finally {
        await Promise.all([one.end(), other.end()]);
      }
    },
  );

  await t.step("a database with a newer schema version is refused and left as it is", async () => {
    await cluster.psql("update lokt.meta set value = '99' where key = 'schema_version'");
    try {
      const error = await assertRejects(open(cluster.url), SchemaVersionError);
      assertEquals([error.code, error.found], ["unsupported_version", 99]);
      assert(error.message.includes("version 99"), error.message);
      assertEquals(
        (await cluster.psql("select value from lokt.meta where key = 'schema_version'")).trim(),
        "99",
      );
    } finally {
      await cluster.psql("update lokt.meta set value = '1' where key = 'schema_version'");
    }
  });
});
