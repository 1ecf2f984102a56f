/**
 * `lokt doctor` with the PostgreSQL backend chosen, through the real entry point against a
 * private cluster: a healthy database, one that cannot be reached, a newer schema, roles without
 * the privileges lokt needs. Doctor never creates the schema, and the file path never loads the
 * database client.
 */

import { assert, assertEquals, assertMatch } from "../../helpers/assert.ts";
import { holderEnv, lokt, REPO, tempDir } from "../../helpers/cli.ts";
import { noPostgres, PASSWORD_ROLE, PG_BIN, startCluster } from "../../helpers/postgres.ts";
import { open } from "./fixture.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface CheckJson {
  id: string;
  status: "ok" | "warn" | "fail";
  message: string;
  hint: string;
  details: Record<string, unknown>;
}

const DATABASE_CHECKS = [
  "backend",
  "connection",
  "round_trip",
  "clock_skew",
  "schema",
  "privileges",
  "notifications",
  "root",
  "identity",
  "clock",
  "liveness",
  "guard_rules",
];

async function doctor(url: string, cwd: string, json = true) {
  const env = holderEnv(`${cwd}/root`, "agent-doc", {
    LOKT_BACKEND: url,
    LOKT_NAMESPACE: "acme/web",
  });
  const started = performance.now();
  const result = await lokt(json ? ["doctor", "--json"] : ["doctor"], { env, cwd });
  const elapsedMs = performance.now() - started;
  if (!json) return { ...result, elapsedMs, report: undefined, byId: new Map<string, CheckJson>() };
  const report = JSON.parse(result.stdout);
  const byId = new Map<string, CheckJson>(report.checks.map((c: CheckJson) => [c.id, c]));
  return { ...result, elapsedMs, report, byId };
}

function statuses(byId: Map<string, CheckJson>): Record<string, string> {
  return Object.fromEntries([...byId.values()].map((c) => [c.id, c.status]));
}

Deno.test({
  name: "doctor on PostgreSQL: healthy, unreachable, newer schema, roles without privileges",
  ignore: noPostgres(),
}, async (t) => {
  await using cluster = await startCluster();
  using dir = tempDir();
  const schemaExists = async () =>
    (await cluster.psql("select count(*) from pg_namespace where nspname = 'lokt'")).trim() === "1";

  await t.step(
    "an empty database is healthy, and doctor leaves it without lokt's schema",
    async () => {
      const { code, stderr, report, byId } = await doctor(cluster.url, dir.path);
      assertEquals(code, 0, stderr);
      assertEquals([...byId.keys()], DATABASE_CHECKS);
      assertEquals(Object.values(statuses(byId)).filter((s) => s !== "ok"), [], report.checks);
      assertMatch(byId.get("schema")!.message, /not created yet/);
      assertMatch(byId.get("privileges")!.message, /lokt may create schema lokt/);
      assertEquals(await schemaExists(), false, "doctor created nothing");
    },
  );

  await (await open(cluster.url)).close(); // creates the schema, as the first lock does

  await t.step(
    "a database with lokt's schema: every check ok, exit 0, the backend shown",
    async () => {
      const { code, stderr, report, byId } = await doctor(cluster.url, dir.path);
      assertEquals(code, 0, stderr);
      assertEquals(report.ok, true);
      assertEquals(report.backend, {
        kind: "postgres",
        location: cluster.url,
        namespace: "acme/web",
        source: "LOKT_BACKEND",
        namespace_source: "LOKT_NAMESPACE",
      });
      assertEquals(Object.values(statuses(byId)).filter((s) => s !== "ok"), [], report.checks);
      assertEquals(byId.get("schema")!.message, "version 1, as this lokt's");
      assertMatch(byId.get("privileges")!.message, /may read and change lokt's tables/);
      assertMatch(byId.get("round_trip")!.message, /^median [\d.]+ ?ms over 5 round trips/);
      assertMatch(byId.get("clock_skew")!.message, /the database's clock is .* this host's/);
      assertEquals(byId.get("notifications")!.status, "ok");
      assertMatch(byId.get("root")!.message, /^not used: locks live in the lock database/);
      assertEquals(report.root.exists, false, "the root is not looked at, nor created");

      const text = await doctor(cluster.url, dir.path, false);
      assertEquals(text.code, 0, text.stderr);
      assertMatch(
        text.stdout,
        /^lokt doctor: PostgreSQL postgres:\/\/lokt@.*, namespace acme\/web\n/,
      );
      assertMatch(text.stdout, /^ok {4}clock_skew {4}/m);
      assertMatch(text.stdout, /12 checks: 12 ok, 0 warning\(s\), 0 failure\(s\)\n$/);
    },
  );

  await t.step(
    "a missing database, a wrong password, a refused port: connection fails, password masked, in time",
    async () => {
      const cases: [url: string, cause: RegExp][] = [
        [
          cluster.urlFor(PASSWORD_ROLE.user, {
            password: PASSWORD_ROLE.password,
            database: "nosuch",
          }),
          /database "nosuch" does not exist/,
        ],
        [
          cluster.urlFor(PASSWORD_ROLE.user, { password: "wrong-password" }),
          /password authentication failed for user "lokt_pw"/,
        ],
        ["postgres://lokt:wrong-password@127.0.0.1:1/lokt", /connection refused at 127\.0\.0\.1:1/],
        ["postgres://lokt:wrong-password@db:5432:5432/lokt", /malformed URL/],
      ];
      for (const [url, cause] of cases) {
        const { code, stdout, stderr, elapsedMs, byId } = await doctor(url, dir.path);
        assertEquals(code, 1, `${url}: ${stdout}${stderr}`);
        const connection = byId.get("connection")!;
        assertEquals(connection.status, "fail");
        assertMatch(connection.message, cause);
        assertMatch(connection.message, /^cannot connect to postgres:\/\/lokt(_pw)?:\*\*\*@/);
        for (const secret of [PASSWORD_ROLE.password, "wrong-password"]) {
          assert(!stdout.includes(secret) && !stderr.includes(secret), `password shown: ${stdout}`);
        }
        assert(elapsedMs < 5_000 + 3_000, `took ${elapsedMs} ms, past the 5 s connect timeout`);
        assertEquals(byId.get("schema")!.details.skipped, true);
        assertEquals(byId.get("backend")!.status, "ok");
      }
    },
  );

  await t.step("a newer schema version fails the schema check with the upgrade hint", async () => {
    await cluster.psql("update lokt.meta set value = '7' where key = 'schema_version'");
    try {
      const { code, byId } = await doctor(cluster.url, dir.path);
      assertEquals(code, 1);
      const schema = byId.get("schema")!;
      assertEquals(schema.status, "fail");
      assertMatch(schema.message, /version 7, newer than this lokt's 1/);
      assertMatch(schema.hint, /upgrade lokt/);
      assertEquals(statuses(byId).privileges, "ok");
    } finally {
      await cluster.psql("update lokt.meta set value = '1' where key = 'schema_version'");
    }
  });

  await t.step(
    "a database that stops answering half-way: the step fails after the timeout, no hang",
    async () => {
      // Someone holds lokt.meta locked: reading the schema version waits behind them.
      const holder = new Deno.Command(`${PG_BIN}/psql`, {
        args: [
          "-h",
          cluster.dir,
          "-U",
          "lokt",
          "-d",
          "postgres",
          "-X",
          "-q",
          "-c",
          "begin; lock table lokt.meta; select pg_sleep(60); commit",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const locked = "select count(*) from pg_locks where relation = 'lokt.meta'::regclass " +
        "and mode = 'AccessExclusiveLock' and granted";
      try {
        while ((await cluster.psql(locked)).trim() !== "1") await delay(20);
        const { code, elapsedMs, byId } = await doctor(cluster.url, dir.path);
        assertEquals(code, 1);
        assertEquals(byId.get("round_trip")!.status, "ok");
        const schema = byId.get("schema")!;
        assertEquals(schema.status, "fail");
        assertMatch(schema.message, /reading the schema version failed: no answer within 5000 ms/);
        assertEquals(byId.get("privileges")!.details.skipped, true);
        assert(elapsedMs < 5_000 + 3_000, `took ${elapsedMs} ms`);
      } finally {
        await cluster.psql(
          "select pg_terminate_backend(pid) from pg_locks where relation = 'lokt.meta'::regclass",
        );
        await holder.status;
      }
    },
  );

  await t.step(
    "a role without privileges, and one that may only read: privileges fail, naming what lacks",
    async () => {
      await cluster.psql(
        "create role lokt_none login; create role lokt_ro login; " +
          "grant usage on schema lokt to lokt_ro; " +
          "grant select on all tables in schema lokt to lokt_ro",
      );
      const none = await doctor(cluster.urlFor("lokt_none"), dir.path);
      assertEquals(none.code, 1);
      const lacking = none.byId.get("privileges")!;
      assertEquals(lacking.status, "fail");
      assertMatch(
        lacking.message,
        /^lokt_none lacks 20 privilege\(s\) lokt needs: USAGE on schema lokt/,
      );
      assertMatch(lacking.hint, /GRANT USAGE ON SCHEMA lokt TO "lokt_none"/);
      assertEquals(none.byId.get("schema")!.status, "fail", "lokt.meta cannot be read");
      assertEquals(none.byId.get("connection")!.status, "ok");

      const ro = await doctor(cluster.urlFor("lokt_ro"), dir.path);
      assertEquals(ro.code, 1);
      assertEquals(statuses(ro.byId).schema, "ok");
      const missing = ro.byId.get("privileges")!.details.missing as string[];
      assertEquals(missing.includes("INSERT on lokt.holders"), true, missing.join(", "));
      assertEquals(missing.includes("USAGE on sequence lokt.tickets_seq_seq"), true);
      assertEquals(missing.some((m) => m.startsWith("SELECT")), false);
    },
  );

  await t.step(
    "a role that may not create lokt's schema in a database without it: privileges fail",
    async () => {
      await cluster.psql("create database empty");
      const { code, byId } = await doctor(
        cluster.urlFor("lokt_none", { database: "empty" }),
        dir.path,
      );
      assertEquals(code, 1);
      assertEquals(statuses(byId).schema, "ok");
      const privileges = byId.get("privileges")!;
      assertEquals(privileges.status, "fail");
      assertMatch(
        privileges.message,
        /schema lokt does not exist, and lokt_none may not create it/,
      );
      assertMatch(privileges.hint, /^GRANT CREATE ON DATABASE "empty" TO "lokt_none"/);
    },
  );
});

Deno.test("a server that never answers: the connection check fails once the connect timeout passes", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  using dir = tempDir();
  try {
    const port = listener.addr.port;
    const { code, stdout, elapsedMs, byId } = await doctor(
      `postgres://lokt:wrong-password@127.0.0.1:${port}/lokt`,
      dir.path,
    );
    assertEquals(code, 1, stdout);
    assertMatch(
      byId.get("connection")!.message,
      new RegExp(
        `^cannot connect to postgres://lokt:\\*\\*\\*@127\\.0\\.0\\.1:${port}/lokt: ` +
          `no answer from 127\\.0\\.0\\.1:${port} within 5000 ms$`,
      ),
    );
    assert(!stdout.includes("wrong-password"), stdout);
    assert(elapsedMs >= 5_000 && elapsedMs < 5_000 + 3_000, `took ${elapsedMs} ms`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("doctor's modules leave the PostgreSQL client and its inspection out until it is chosen", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${REPO}/src/cli/commands/doctor.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  const graph: {
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  } = JSON.parse(new TextDecoder().decode(output.stdout));
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const pending = [new URL(`file://${REPO}/src/cli/commands/doctor.ts`).href];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code) pending.push(dep.code.specifier);
    }
  }
  const heavy = [...loaded].filter((s) =>
    s.startsWith("npm:") || /backends\/postgres\/(client|inspect|mod|wire)\.ts$/.test(s)
  );
  assertEquals(heavy, []);
});
