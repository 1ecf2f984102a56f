/**
 * A database the commands cannot use, through the real entry point: exit 1 within the connect
 * timeout, one `error:` line naming the URL with its password masked and the cause, a hint, no
 * stack trace, nothing written; `--json` carries the same as an error object.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { lokt, tempDir } from "../helpers/cli.ts";
import { noPostgres, PASSWORD_ROLE, startCluster } from "../helpers/postgres.ts";

/** Runs `lokt lock x` and `lokt guard x -- true` against `url`; checks how they fail. */
async function fails(
  url: string,
  cause: RegExp,
  options: { withinMs?: number; commands?: string[][] } = {},
) {
  using dir = tempDir();
  const env = {
    LOKT_BACKEND: url,
    LOKT_NAMESPACE: "faults",
    LOKT_AGENT_ID: "a",
    LOKT_ROOT: `${dir.path}/root`,
  };
  const commands = options.commands ??
    [["lock", "x", "--json"], ["guard", "x", "--", "true"], ["unlock", "x"]];
  for (const args of commands) {
    const started = Date.now();
    const run = await lokt(args, { env });
    const tookMs = Date.now() - started;
    const what = `${args[0]} on ${url}: ${run.stderr}`;
    assertEquals(run.code, 1, what);
    assertNotMatch(run.stderr + run.stdout, /secret-pw/, what);
    assertNotMatch(run.stderr, /\n\s+at /, `a stack trace: ${what}`);
    if (args.includes("--json")) {
      const error = JSON.parse(run.stdout).error;
      assertEquals(error.code, "io", what);
      assertMatch(error.message, cause, what);
    } else {
      assertMatch(run.stderr, /^error: cannot use the lock database postgres:\/\//, what);
      assertMatch(run.stderr, cause, what);
      assertMatch(run.stderr, /\nhint: /, what);
    }
    assert(tookMs < (options.withinMs ?? 5_000) + 3_000, `${args[0]} took ${tookMs} ms`);
  }
  let written = true;
  try {
    Deno.statSync(`${dir.path}/root`);
  } catch {
    written = false;
  }
  assertEquals(written, false, "a lock root was created");
}

Deno.test("nothing listening, an unknown host, a malformed port: exit 1 at once, password masked", async () => {
  await fails("postgres://lokt:secret-pw@127.0.0.1:1/lokt", /connection refused at 127\.0\.0\.1:1/);
  await fails("postgres://lokt:secret-pw@db.invalid:5432/lokt", /unknown host "db\.invalid"/);
  await fails("postgres://lokt:secret-pw@db:54x2/lokt", /malformed URL/);
});

Deno.test("a server that accepts and never answers: exit 1 after the 5 s connect timeout", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    await fails(
      `postgres://lokt:secret-pw@127.0.0.1:${listener.addr.port}/lokt`,
      /no answer from 127\.0\.0\.1:\d+ within 5000 ms/,
      // One command: each waits the whole timeout.
      { withinMs: 5_000, commands: [["guard", "x", "--", "true"]] },
    );
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test({
  name: "a wrong password, a missing database: exit 1 with the server's reason",
  ignore: noPostgres(),
  async fn() {
    await using cluster = await startCluster();
    await fails(
      cluster.urlFor(PASSWORD_ROLE.user, { password: "secret-pw" }),
      /password authentication failed for user "lokt_pw"/,
    );
    await fails(cluster.urlFor("lokt", { database: "nosuch" }), /database "nosuch" does not exist/);
  },
});
