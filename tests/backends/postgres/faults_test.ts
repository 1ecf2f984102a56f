/**
 * A database that cannot be used is a typed error (code `io`, exit 1) within the connect
 * timeout, whose message shows the URL with its password masked and the cause: never a hang,
 * never a stack trace.
 */

import { assert, assertEquals, assertRejects } from "../../helpers/assert.ts";
import { noPostgres, PASSWORD_ROLE, startCluster } from "../../helpers/postgres.ts";
import { BackendUnavailableError, openPostgres } from "../../../src/backends/postgres/mod.ts";
import { exitCodeFor } from "../../../src/cli/exit.ts";
import { localClaim, probe } from "./fixture.ts";
import { oracle } from "../../helpers/oracle.ts";

function attempt(url: string, connectTimeoutMs = 5_000) {
  return openPostgres(url, {
    namespace: "faults",
    probe,
    actor: { owner: "tester", host: "h", pid: Deno.pid, agentId: "t" },
    connectTimeoutMs,
  });
}

async function refused(url: string, cause: RegExp, connectTimeoutMs?: number) {
  const error = await assertRejects(attempt(url, connectTimeoutMs), BackendUnavailableError);
  assert(cause.test(error.message), `${url}: ${error.message}`);
  assert(!error.message.includes("wrong-password"), `password shown: ${error.message}`);
  assert(!error.message.includes("\n"), `one line: ${error.message}`);
  assertEquals([error.code, exitCodeFor(error)], ["io", 1]);
  return error;
}

Deno.test("a port where nothing listens: connection refused", async () => {
  await refused(
    "postgres://lokt:wrong-password@127.0.0.1:1/lokt",
    /connection refused at 127\.0\.0\.1:1/,
  );
});

Deno.test("a server that accepts and never answers: given up after the connect timeout", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const error = await refused(
      `postgres://lokt:wrong-password@127.0.0.1:${listener.addr.port}/lokt`,
      /no answer from 127\.0\.0\.1:\d+ within 1000 ms/,
      1_000,
    );
    assertEquals(error.url, `postgres://lokt:***@127.0.0.1:${listener.addr.port}/lokt`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("a malformed URL is refused before anything is loaded or sent", async () => {
  await refused("postgres://lokt:wrong-password@db:5432:5432/lokt", /malformed URL/);
  await refused("postgress://lokt@db/lokt", /malformed URL: the scheme/);
});

Deno.test({
  name: "a wrong password, a missing database: the server's reason",
  ignore: noPostgres(),
}, async () => {
  await using cluster = await startCluster();
  await refused(
    cluster.urlFor(PASSWORD_ROLE.user, { password: "wrong-password" }),
    /password authentication failed for user "lokt_pw"/,
  );
  await refused(cluster.urlFor("lokt", { database: "nosuch" }), /database "nosuch" does not exist/);
  await refused(
    cluster.url.replace(encodeURIComponent(cluster.dir), "%2Fnowhere"),
    /no server socket at \/nowhere/,
  );
  // The right password works, and is masked wherever the backend shows its location.
  const url = cluster.urlFor(PASSWORD_ROLE.user, { password: PASSWORD_ROLE.password });
  await using backend = await attempt(url);
  assert(!backend.info.location.includes(PASSWORD_ROLE.password), backend.info.location);
  assert(backend.info.location.includes(":***@"), backend.info.location);
});

Deno.test({
  name: "an operation left unanswered past the operation timeout fails as unavailable, and the " +
    "next one runs on a new connection",
  ignore: noPostgres(),
}, async () => {
  await using cluster = await startCluster();
  const actor = { owner: "tester", host: probe.machine().host, pid: Deno.pid, agentId: "t" };
  await using backend = await openPostgres(cluster.url, {
    namespace: "slow",
    probe,
    actor,
    operationTimeoutMs: 500,
  });
  // Another session holds the name's advisory lock in an open transaction: the acquisition
  // waits for it on the server and gets no answer in time.
  const other = oracle(cluster);
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => locked = resolve);
  const holding = other.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${"slow\nx"}, 0))`;
    locked();
    await held;
  });
  try {
    await lockTaken;
    const claim = localClaim("a");
    const started = performance.now();
    const error = await assertRejects(
      backend.acquire({ name: "x", kind: "guard", claim }),
      BackendUnavailableError,
    );
    const tookMs = performance.now() - started;
    assert(error.message.includes("no answer within 500 ms"), error.message);
    assert(tookMs < 5_000, `gave up after ${Math.round(tookMs)} ms`);
    release();
    await holding;
    const got = await backend.acquire({ name: "x", kind: "guard", claim });
    assertEquals(got.kind, "acquired");
  } finally {
    release();
    await holding.catch(() => {});
    await other.end({ timeout: 1 });
  }
});
