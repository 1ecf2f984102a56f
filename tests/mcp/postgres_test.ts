/**
 * `lokt mcp` on PostgreSQL, against a private cluster chosen through `LOKT_BACKEND` and
 * `LOKT_NAMESPACE`: the SDK's own client spawns real servers, and the database's tables show
 * what they hold. A server on "another host" runs in its own UTS namespace (`unshare -u`, with
 * another host name), so that its holds are judged by their lease alone, as every other host
 * judges them.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { lokt, MAIN, tempDir } from "../helpers/cli.ts";
import { type Cluster, noPostgres, startCluster } from "../helpers/postgres.ts";
import { connect, eventually, serverEnv, type Session, textOf } from "./client.ts";

type Structured = Record<string, unknown>;

async function call(session: Session, name: string, args: Record<string, unknown> = {}) {
  const result = await session.client.callTool({ name, arguments: args });
  return {
    isError: result.isError === true,
    text: textOf(result),
    data: (result.structuredContent ?? {}) as Structured,
  };
}

const NAMESPACE = "mcp/tests";

/** The rows of `lokt.holders` for `name`: `client pid` of each. */
async function holders(cluster: Cluster, name: string): Promise<string[]> {
  const out = await cluster.psql(
    `select (record->>'client') || ' ' || (record->>'pid') from lokt.holders ` +
      `where namespace = '${NAMESPACE}' and name = '${name}' order by slot`,
  );
  return out.split("\n").filter((l) => l !== "");
}

/** The server processes' connections to the cluster (lokt names its connections). */
async function connections(cluster: Cluster): Promise<number> {
  const out = await cluster.psql(
    "select count(*) from pg_stat_activity where application_name = 'lokt'",
  );
  return Number(out.trim());
}

async function tickets(cluster: Cluster, name: string): Promise<number> {
  const out = await cluster.psql(
    `select count(*) from lokt.tickets where namespace = '${NAMESPACE}' and name = '${name}'`,
  );
  return Number(out.trim());
}

/** True when this process may give a child its own host name (root, or user namespaces). */
function canUnshare(): boolean {
  try {
    return new Deno.Command("unshare", { args: ["-u", "true"], stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "mcp on PostgreSQL",
  ignore: noPostgres(),
  // The SDK's client keeps child-process handles the sanitizers would count.
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await using cluster = await startCluster();
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const env = (agent: string) =>
    serverEnv(root, agent, { LOKT_BACKEND: cluster.url, LOKT_NAMESPACE: NAMESPACE });

  await t.step(
    "acquire and release hold the lock in the database, named by the client",
    async () => {
      const a = await connect(env("agent-a"), { clientName: "claude-code" });
      try {
        const taken = await call(a, "acquire", { name: "build", ttl: "5m" });
        assertEquals(taken.isError, false, taken.text);
        assertEquals([taken.data.status, taken.data.fence], ["acquired", 1]);
        assertEquals(await holders(cluster, "build"), [`claude-code/1.2.3 ${a.pid}`]);

        const status = await call(a, "status");
        assertEquals((status.data.backend as Structured).kind, "postgres");
        assertEquals((status.data.locks as Structured[]).map((l) => l.name), ["build"]);
        const one = await call(a, "status", { name: "build" });
        assertEquals([one.data.state, one.data.pid], ["live", a.pid]);
        const why = await call(a, "why", { name: "build" });
        assertEquals(why.isError, false, why.text);
        const read = await a.client.readResource({ uri: "lokt://status" });
        const listed = JSON.parse((read.contents[0] as { text: string }).text);
        assertEquals(listed.locks.map((l: Structured) => l.lock_id), [one.data.lock_id]);

        const released = await call(a, "release", { name: "build" });
        assertEquals([released.isError, released.data.status], [false, "released"]);
        assertEquals(await holders(cluster, "build"), []);
        const again = await call(a, "release", { name: "build" });
        assertEquals(again.isError, true);
        assertEquals((again.data.error as Structured).code, "not_found");

        // One backend for the server's life: once each kind of call has run, more calls open no
        // more connections.
        const round = async (i: number) => {
          await call(a, "acquire", { name: `n${i}`, wait: true });
          await call(a, "status");
          await call(a, "why", { name: `n${i}` });
        };
        await round(0);
        const open = await connections(cluster);
        for (let i = 1; i < 6; i++) await round(i);
        assertEquals((await call(a, "release_all")).data.count, 6);
        assertEquals(await connections(cluster), open);

        // A lock still held when the client leaves is released by the server on its way out.
        await call(a, "acquire", { name: "left-over" });
        assertEquals((await holders(cluster, "left-over")).length, 1);
      } finally {
        await a.close();
      }
      assertEquals(await holders(cluster, "left-over"), []);
      await eventually(async () => await connections(cluster) === 0, "its connections closed");
    },
  );

  await t.step(
    "a hold broken in the database is noticed as lost, and lokt://status subscribers are told",
    async () => {
      const a = await connect(env("agent-a"));
      try {
        let updates = 0;
        a.client.setNotificationHandler("notifications/resources/updated", (n) => {
          if (n.params.uri === "lokt://status") updates++;
        });
        await a.client.subscribeResource({ uri: "lokt://status" });
        await call(a, "acquire", { name: "broken", ttl: "1m" });
        await eventually(() => updates >= 1, "a notification for its own lock");
        const seen = updates;
        const broke = await lokt(["unlock", "broken", "--force"], { env: env("operator") });
        assertEquals(broke.code, 0, broke.stderr);
        await eventually(() => /lock "broken" was lost/.test(a.stderr()), "a notices the loss");
        await eventually(() => updates > seen, "a notification for the break");
        // A change this server had no part in reaches subscribers through the 1 s poll.
        const before = updates;
        const other = await lokt(["lock", "other", "--ttl", "1m"], { env: env("terminal") });
        assertEquals(other.code, 0, other.stderr);
        await eventually(() => updates > before, "a notification for the CLI's lock");
        const gone = await call(a, "release", { name: "broken" });
        assertEquals((gone.data.error as Structured).code, "not_found");
      } finally {
        await a.close();
      }
    },
  );

  await t.step(
    "freeze and unfreeze through the database refuse and then let acquire in",
    async () => {
      const a = await connect(env("agent-a"));
      const b = await connect(env("agent-b"));
      try {
        const frozen = await call(a, "freeze", { name: "release", ttl: "1m", reason: "incident" });
        assertEquals([frozen.isError, frozen.data.status], [false, "frozen"], frozen.text);
        const refused = await call(b, "acquire", { name: "release" });
        assertEquals((refused.data.error as Structured).code, "frozen");
        assertMatch(refused.text, /incident/);
        const lifted = await call(a, "unfreeze", { name: "release" });
        assertEquals(lifted.data.status, "unfrozen", lifted.text);
        assertEquals((await call(b, "acquire", { name: "release" })).data.status, "acquired");
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    },
  );

  await t.step(
    "a second server's wait is queued in the database and gets the lock on release",
    async () => {
      const a = await connect(env("agent-a"));
      const b = await connect(env("agent-b"));
      try {
        const first = await call(a, "acquire", { name: "deploy" });
        const notMine = await call(b, "release", { name: "deploy" });
        assertEquals((notMine.data.error as Structured).code, "not_owner", notMine.text);
        const progress: string[] = [];
        const waitB = b.client.callTool(
          { name: "acquire", arguments: { name: "deploy", wait: true, timeout: "30s" } },
          { onprogress: (p) => void progress.push(p.message ?? "") },
        );
        await eventually(async () => await tickets(cluster, "deploy") === 1, "b is queued");
        await eventually(() => progress.length > 0, "b reports progress");
        assertMatch(progress[0], /^waiting: .*"deploy"/);
        await call(a, "release", { name: "deploy" });
        const got = await waitB;
        assertEquals(got.isError, undefined, textOf(got));
        assertEquals((got.structuredContent as Structured).fence, (first.data.fence as number) + 1);
        assertEquals(await holders(cluster, "deploy"), [`lokt-tests/1.2.3 ${b.pid}`]);
        assertEquals(await tickets(cluster, "deploy"), 0);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    },
  );

  await t.step({
    name:
      "a server on another host killed with SIGKILL lets the next in only when its lease runs out",
    ignore: !canUnshare(),
    fn: async () => {
      const ttlMs = 3_000;
      const remote = await connect(env("agent-remote"), {
        command: "unshare",
        args: [
          "-u",
          "sh",
          "-c",
          'hostname lokt-other-host && exec "$@"',
          "sh",
          ...[Deno.execPath(), "run", "-A", MAIN, "mcp"],
        ],
      });
      const b = await connect(env("agent-b"));
      try {
        const taken = await call(remote, "acquire", { name: "db", ttl: `${ttlMs}ms` });
        assertEquals(taken.data.status, "acquired", taken.text);
        assertEquals(
          (await cluster.psql(
            `select record->>'host' from lokt.holders where namespace = '${NAMESPACE}' and ` +
              `name = 'db'`,
          )).trim(),
          "lokt-other-host",
        );
        // Two TTLs: the remote server renews the lease meanwhile, so b keeps waiting.
        const waitB = b.client.callTool({
          name: "acquire",
          arguments: { name: "db", wait: true, timeout: "30s" },
        });
        let gotAt: number | undefined;
        waitB.then(() => gotAt = performance.now());
        await new Promise((resolve) => setTimeout(resolve, 2 * ttlMs));
        assertEquals(gotAt, undefined, "the renewed lease keeps b waiting");
        Deno.kill(remote.pid, "SIGKILL");
        const killedAt = performance.now();
        const got = await waitB;
        assertEquals((got.structuredContent as Structured).status, "acquired", textOf(got));
        const afterMs = gotAt! - killedAt;
        // The last renewal was at most TTL/3 before the kill: the lease ran at least 2/3 TTL on.
        assert(afterMs >= ttlMs / 2, `b got the lock ${afterMs} ms after the kill`);
        assert(afterMs < ttlMs + 5_000, `b got the lock ${afterMs} ms after the kill`);
      } finally {
        await Promise.all([remote.close().catch(() => {}), b.close()]);
      }
    },
  });
});
