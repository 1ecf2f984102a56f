/**
 * The audit table: filters as the file log's, a follower that sees each new row once even when
 * rows commit out of id order, and retention.
 */

import { assertEquals } from "../../helpers/assert.ts";
import { noPostgres, startCluster } from "../../helpers/postgres.ts";
import type { LoggedEvent } from "../../../src/audit/event.ts";
import { openPostgres } from "../../../src/backends/postgres/mod.ts";
import { localClaim, open, probe } from "./fixture.ts";
import { oracle } from "../../helpers/oracle.ts";

const actor = { owner: "auditor", host: "h", pid: 1, agentId: "a" };

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

Deno.test({ name: "the PostgreSQL audit table", ignore: noPostgres() }, async (t) => {
  await using cluster = await startCluster();

  await t.step("query filters by name, event, owner and time, oldest first", async () => {
    await using b = await open(cluster.url, "audit-query");
    await b.audit.append([
      { ts: 0, event: "freeze", name: "a", actor },
      { ts: 0, event: "lost", name: "b", actor: { ...actor, owner: "other" } },
      { ts: 0, event: "freeze", name: "b", actor },
    ]);
    const all = await b.audit.query({});
    assertEquals(all.map((e) => `${e.event}:${e.name}:${e.owner}`), [
      "freeze:a:auditor",
      "lost:b:other",
      "freeze:b:auditor",
    ]);
    assertEquals((await b.audit.query({ name: "b" })).length, 2);
    assertEquals((await b.audit.query({ events: ["lost"] })).map((e) => e.owner), ["other"]);
    assertEquals((await b.audit.query({ events: [] })).length, 0);
    assertEquals((await b.audit.query({ owner: "other" })).length, 1);
    const stamped = all[0].tsMs;
    assertEquals((await b.audit.query({ untilMs: stamped - 60_000 })).length, 0);
    // Another namespace sees none of it.
    await using other = await open(cluster.url, "audit-elsewhere");
    assertEquals(await other.audit.query({}), []);
  });

  await t.step(
    "follow shows each later row once, including one that commits after a newer id",
    async () => {
      await using b = await open(cluster.url, "audit-follow");
      await b.audit.append([{ ts: 0, event: "freeze", name: "before", actor }]);
      const seen: LoggedEvent[] = [];
      const stop = new AbortController();
      const following = b.audit.follow({}, (e) => seen.push(e), stop.signal);
      // Give the follower its starting point (it shows only what commits after it began).
      await new Promise((r) => setTimeout(r, 200));

      // A transaction takes an id first and commits last.
      let commitLate!: () => void;
      const late = new Promise<void>((r) => commitLate = r);
      // The default of npm postgres: up to 10 connections.
      const client = oracle(cluster, 10);
      const inserted = Promise.withResolvers<void>();
      const slow = client.begin(async (tx) => {
        await tx`insert into lokt.audit (namespace, ts, event, name, owner, line)
               values ('audit-follow', now(), 'lost', 'late', 'auditor',
                       '{"ts":"2026-01-01T00:00:00.000Z","event":"lost","name":"late"}')`;
        inserted.resolve();
        await late;
      });
      await inserted.promise;
      await new Promise((r) => setTimeout(r, 200));
      const acquired = await b.acquire({ name: "early", kind: "guard", claim: localClaim("f") });
      assertEquals(acquired.kind, "acquired");
      await until(() => seen.some((e) => e.name === "early"));
      commitLate();
      await slow;
      await client.end();
      await until(() => seen.some((e) => e.name === "late"));
      await new Promise((r) => setTimeout(r, 1_200)); // one more poll: nothing is shown twice
      stop.abort();
      await following;
      assertEquals(seen.map((e) => e.name), ["early", "late"]);
    },
  );

  await t.step("rows older than the retention are removed when a backend opens", async () => {
    await cluster.psql(
      "insert into lokt.audit (namespace, ts, event, name, owner, line) values " +
        `('audit-retention', now() - interval '40 days', 'lost', 'old', 'x', '{}')`,
    );
    await cluster.psql(
      "update lokt.meta set value = (now() - interval '2 hours')::text where key = 'audit_pruned_at'",
    );
    await using b = await openPostgres(cluster.url, {
      namespace: "audit-retention",
      probe,
      actor,
      auditRetentionMs: 30 * 24 * 3600 * 1000,
      auditPruneOneIn: 1,
    });
    assertEquals(await b.audit.query({}), []);
  });
});
