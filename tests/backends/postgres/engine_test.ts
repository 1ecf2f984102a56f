/**
 * What only the PostgreSQL backend has, against a private cluster: fences that survive a crash
 * of the server, the transaction-id guard of the names' transactions, the schema version. The
 * behaviour both backends share (acquisition, leases, freezes, slots, the FIFO queue, the audit
 * events) is tested once for both by `tests/backends/contract_test.ts`.
 */

import { assert, assertEquals, assertRejects } from "../../helpers/assert.ts";
import { noPostgres, startCluster } from "../../helpers/postgres.ts";
import { SchemaVersionError } from "../../../src/backends/postgres/mod.ts";
import type { Holder } from "../../../src/backends/backend.ts";
import { localClaim, open } from "./fixture.ts";
import { oracle } from "../../helpers/oracle.ts";

function held(result: { kind: string; holder?: Holder }): Holder {
  assert(result.holder !== undefined, `expected a hold, got ${JSON.stringify(result)}`);
  return result.holder;
}

Deno.test({ name: "the PostgreSQL backend", ignore: noPostgres() }, async (t) => {
  await using cluster = await startCluster();

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
      const one = oracle(cluster);
      const other = oracle(cluster);
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
