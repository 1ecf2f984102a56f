/**
 * lokt's own PostgreSQL client against a real private cluster: templates and their parameters,
 * values in and out, pipelining, transactions, notifications, authentication (trust, SCRAM,
 * MD5, cleartext), messages larger than one read, closing, and a server crash under it.
 */

import { assert, assertEquals, assertRejects } from "../../helpers/assert.ts";
import { noPostgres, PASSWORD_ROLE, startCluster } from "../../helpers/postgres.ts";
import {
  connect,
  createClient,
  isConnectionFault,
  PostgresError,
  type Sql,
} from "../../../src/backends/postgres/client.ts";
import { parseDatabaseUrl } from "../../../src/backends/postgres/url.ts";
import { BackendUnavailableError } from "../../../src/backends/postgres/errors.ts";

const settingsOf = (url: string) => parseDatabaseUrl(url, () => undefined);

function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error("not within the time allowed"));
      setTimeout(poll, 5);
    };
    poll();
  });
}

Deno.test({ name: "lokt's PostgreSQL client", ignore: noPostgres() }, async (t) => {
  await using cluster = await startCluster();
  const sql: Sql = await connect(settingsOf(cluster.url), { maxConnections: 2 });
  try {
    await t.step("values go in as parameters and come back typed", async () => {
      const when = new Date("2026-12-03T22:54:49.929Z");
      const [row] = await sql`
        select ${"it's; -- not SQL"}::text as text, ${42}::integer as int4,
               ${"9007199254740993"}::bigint as int8, ${1.5}::float8 as float8,
               ${true} as yes, ${false} as no, ${null}::text as nothing,
               ${when} as at, ${when}::timestamp as local, '2026-12-03'::date as day,
               '{"a":[1,2]}'::jsonb as doc, ${"ünïcødé ✓"}::text as unicode,
               12.50::numeric as exact`;
      assertEquals(row, {
        text: "it's; -- not SQL",
        int4: 42,
        int8: "9007199254740993",
        float8: 1.5,
        yes: true,
        no: false,
        nothing: null,
        at: when,
        local: when,
        day: new Date("2026-12-03T00:00:00Z"),
        doc: { a: [1, 2] },
        unicode: "ünïcødé ✓",
        exact: "12.50",
      });
    });

    await t.step("fragments are inlined with their parameters; lists and rows expand", async () => {
      await sql`create table t (id integer, name text, at timestamptz)`;
      const rows = [
        { id: 1, name: "one", at: new Date(1_000) },
        { id: 2, name: "two", at: new Date(2_000) },
        { id: 3, name: "three", at: new Date(3_000) },
      ];
      await sql`insert into t ${sql(rows, "id", "name", "at")}`;
      const named = sql`name in ${sql(["one", "three", "none"])}`;
      const early = sql`at < ${new Date(2_500)}`;
      const both = sql`${named} and ${early}`;
      assertEquals(await sql`select id from t where ${both} order by id`, [{ id: 1 }]);
      assertEquals(await sql`select id from t where ${named} order by id`, [{ id: 1 }, {
        id: 3,
      }]);
    });

    await t.step("pipelined queries are answered in order; one failure stays its own", async () => {
      const queries = Array.from({ length: 300 }, (_, i) => sql`select ${i}::integer as i`);
      const failing = sql`select 1/0`;
      for (const q of queries.slice(0, 150)) q.execute();
      failing.execute();
      for (const q of queries.slice(150)) q.execute();
      const answers = await Promise.allSettled([
        ...queries.slice(0, 150),
        failing,
        ...queries.slice(150),
      ]);
      const values = answers.filter((a) => a.status === "fulfilled").map((a) =>
        (a as PromiseFulfilledResult<{ i: number }[]>).value[0].i
      );
      assertEquals(values, Array.from({ length: 300 }, (_, i) => i));
      const rejected = answers[150] as PromiseRejectedResult;
      assert(rejected.reason instanceof PostgresError);
      assertEquals(rejected.reason.code, "22012");
    });

    await t.step("a pipelined transaction with a failing statement writes nothing", async () => {
      const one = createClient(settingsOf(cluster.url), { maxConnections: 1 });
      try {
        const steps = [
          one`begin`,
          one`insert into t (id, name) values (10, 'ten')`,
          one`insert into t (id, name) values (${"not a number"}::integer, 'x')`,
          one`insert into t (id, name) values (11, 'eleven')`,
          one`commit`,
        ];
        for (const q of steps) q.execute();
        const settled = await Promise.allSettled(steps);
        assertEquals(settled.map((s) => s.status), [
          "fulfilled",
          "fulfilled",
          "rejected",
          "rejected",
          "fulfilled", // a commit of a failed transaction is a rollback
        ]);
        assertEquals(await one`select count(*)::integer as n from t where id >= 10`, [{ n: 0 }]);
      } finally {
        await one.end();
      }
    });

    await t.step("begin commits, or rolls back when its function throws", async () => {
      await sql.begin(async (tx) => {
        await tx`insert into t (id, name) values (20, 'kept')`;
      });
      const error = await assertRejects(
        sql.begin(async (tx) => {
          await tx`insert into t (id, name) values (21, 'dropped')`;
          throw new Error("changed my mind");
        }),
        Error,
      );
      assertEquals(error.message, "changed my mind");
      assertEquals(await sql`select id from t where id >= 20 order by id`, [{ id: 20 }]);
    });

    await t.step(
      "statements are parsed once and kept; one that failed to parse is parsed again",
      async () => {
        const read = () => sql`select v from later where v > ${0}`;
        const missing = await assertRejects(read().then(), PostgresError);
        assertEquals(missing.code, "42P01");
        await sql`create table later (v integer)`;
        await sql`insert into later values (${5})`;
        for (let i = 0; i < 3; i++) assertEquals(await read(), [{ v: 5 }]);
        const divide = (by: number) => sql`select 10 / ${by}::integer as q`;
        await assertRejects(divide(0).then(), PostgresError);
        assertEquals(await divide(2), [{ q: 5 }]);
      },
    );

    await t.step("a simple query may hold several statements", async () => {
      await sql.unsafe(
        "create table u (x integer); insert into u values (7); insert into u values (8)",
      );
      assertEquals(await sql`select sum(x)::integer as s from u`, [{ s: 15 }]);
    });

    await t.step("rows and messages larger than one read arrive whole", async () => {
      const [{ big }] = await sql`select repeat('x', 300000) as big`;
      assertEquals((big as string).length, 300_000);
      const many = await sql`select g from generate_series(1, 20000) g`;
      assertEquals(many.length, 20_000);
      assertEquals(many[19_999], { g: 20_000 });
    });

    await t.step("notifications reach listeners until they unlisten", async () => {
      const heard: string[] = [];
      const listening = await sql.listen("chan", (payload) => heard.push(payload));
      await sql`select pg_notify('chan', 'one')`;
      await sql`select pg_notify('other', 'not for us')`;
      await eventually(() => heard.length === 1);
      await listening.unlisten();
      await sql`select pg_notify('chan', 'two')`;
      await sql`select pg_sleep(0.05)`;
      assertEquals(heard, ["one"]);
    });

    await t.step(
      "after a server crash: queries in flight fail as connection faults, the next ones reconnect, listeners listen again",
      async () => {
        const heard: string[] = [];
        const listening = await sql.listen("again", (payload) => heard.push(payload));
        const inFlight = sql`select pg_sleep(30)`.then(() => undefined, (e: unknown) => e);
        await cluster.crashRestart();
        // Listening anew while the listening connection is being replaced: one connection
        // listens for both channels (a second one would be left open, and the test would leak it).
        const alsoHeard: string[] = [];
        const also = await sql.listen("also", (payload) => alsoHeard.push(payload));
        const error = await inFlight;
        assert(isConnectionFault(error), `not a connection fault: ${error}`);
        assertEquals(await sql`select 1 as one`, [{ one: 1 }]);
        await eventually(() => {
          sql`select pg_notify('again', 'back')`.catch(() => {});
          return heard.length > 0;
        }, 10_000);
        assertEquals(heard[0], "back");
        await sql`select pg_notify('also', 'too')`;
        await eventually(() => alsoHeard.length > 0);
        assertEquals(alsoHeard, ["too"]);
        await also.unlisten();
        await listening.unlisten();
      },
    );
  } finally {
    await sql.end();
  }

  await t.step("end waits for what is in flight; end with no time left rejects it", async () => {
    const a = createClient(settingsOf(cluster.url));
    const slow = a`select pg_sleep(0.2) as slept`.then();
    await a.end({ timeout: 5 });
    assertEquals(await slow, [{ slept: "" }]);
    await assertRejects(a`select 1`.then(), Error);
    const b = createClient(settingsOf(cluster.url));
    await b`select 1`;
    const cut = b`select pg_sleep(5)`.then(() => undefined, (e: unknown) => e);
    await b.end({ timeout: 0 });
    const error = await cut;
    assert(isConnectionFault(error));
  });

  await t.step("authentication: SCRAM, MD5 and cleartext, right and wrong passwords", async () => {
    await cluster.psql(
      "set password_encryption = 'md5'; create role lokt_md5 login password 'md5-secret'; " +
        "reset password_encryption; create role lokt_clear login password 'clear-secret'",
    );
    const hba = `${cluster.dir}/data/pg_hba.conf`;
    Deno.writeTextFileSync(
      hba,
      "local all lokt_md5 md5\nlocal all lokt_clear password\n" + Deno.readTextFileSync(hba),
    );
    await cluster.psql("select pg_reload_conf()");
    const cases = [
      { user: PASSWORD_ROLE.user, password: PASSWORD_ROLE.password },
      { user: "lokt_md5", password: "md5-secret" },
      { user: "lokt_clear", password: "clear-secret" },
    ];
    for (const { user, password } of cases) {
      const right = await connect(settingsOf(cluster.urlFor(user, { password })));
      assertEquals(await right`select current_user as u`, [{ u: user }]);
      await right.end();
      for (const wrong of ["wrong", ""]) {
        const error = await assertRejects(
          connect(settingsOf(cluster.urlFor(user, { password: wrong }))),
          BackendUnavailableError,
        );
        assert(
          error.message.includes(`password authentication failed for user "${user}"`),
          `${user}/${wrong}: ${error.message}`,
        );
      }
    }
  });
});

Deno.test("a server that cannot prove it knows the password (SCRAM) is refused", async () => {
  // A fake server: it offers SCRAM-SHA-256, takes the client's proof, and answers with a
  // signature it could not have made.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const message = (type: string, body: Uint8Array) => {
    const bytes = new Uint8Array(5 + body.length);
    bytes[0] = type.charCodeAt(0);
    new DataView(bytes.buffer).setInt32(1, 4 + body.length);
    bytes.set(body, 5);
    return bytes;
  };
  const auth = (kind: number, text: string) => {
    const body = new TextEncoder().encode(`....${text}`);
    new DataView(body.buffer).setInt32(0, kind);
    return message("R", body);
  };
  const serve = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(4096);
    await conn.read(buffer); // the start-up message
    await conn.write(auth(10, "SCRAM-SHA-256\0\0"));
    const n = (await conn.read(buffer))!;
    const first = new TextDecoder().decode(buffer.subarray(0, n));
    const nonce = /r=([^,\0]+)/.exec(first)![1];
    await conn.write(auth(11, `r=${nonce}server,s=${btoa("salt")},i=4096`));
    await conn.read(buffer); // the client's proof
    await conn.write(auth(12, `v=${btoa("not the right signature, 32 bytes")}`));
    await conn.write(auth(0, ""));
    await conn.read(buffer).catch(() => null); // the client leaves
    conn.close();
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const error = await assertRejects(
    connect(settingsOf(`postgres://someone:secret@127.0.0.1:${port}/db`)),
    BackendUnavailableError,
  );
  assert(error.message.includes("could not prove it knows the password"), error.message);
  await serve;
});
