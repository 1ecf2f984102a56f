/**
 * End-to-end on PostgreSQL: `exists`, `status`, `why` and `audit` read the shared backend with the
 * flags, output, JSON and exit codes they have on files, through the real entry point, against
 * one private cluster. Each step works in its own namespace.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { finish, holderEnv, lokt, startLokt, tempDir } from "../helpers/cli.ts";
import { type Cluster, noPostgres, startCluster } from "../helpers/postgres.ts";

type Env = Record<string, string>;

/** Two agents' environments on one namespace of the cluster; the lock root is never used. */
function agents(cluster: Cluster, root: string, namespace: string) {
  const shared = { LOKT_BACKEND: cluster.url, LOKT_NAMESPACE: namespace };
  return {
    a: holderEnv(root, "agent-a", shared),
    b: holderEnv(root, "agent-b", shared),
    c: holderEnv(root, "agent-c", shared),
  };
}

async function ok(args: string[], env: Env, code = 0) {
  const run = await lokt(args, { env });
  assertEquals(run.code, code, `lokt ${args.join(" ")}: ${run.stderr}${run.stdout}`);
  return run;
}

/** Asks `check` every 100 ms until it answers true, for at most `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "exists, status, why and audit read the PostgreSQL backend as they read files",
  ignore: noPostgres(),
}, async (t) => {
  await using cluster = await startCluster();
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const masked = cluster.url; // no password in the test cluster's URL

  await t.step("exists: 0 while a live lock holds the name, for anyone; 3 when free", async () => {
    const { a, b } = agents(cluster, root, "views/exists");
    await ok(["exists", "build"], a, 3);
    await ok(["lock", "build", "--ttl", "1m"], a);
    await ok(["exists", "build"], a, 0);
    await ok(["exists", "build"], b, 0);
    await ok(["exists", "other"], b, 3);
    await ok(["unlock", "build"], a);
    await ok(["exists", "build"], b, 3);
  });

  await t.step("status: holders, slots, freezes and waiters, in text and --json", async () => {
    const { a, b, c } = agents(cluster, root, "views/status");
    await ok(["lock", "build", "--ttl", "5m"], a);
    await ok(["lock", "pool", "--slots", "3", "--ttl", "5m"], a);
    await ok(["freeze", "deploy", "--ttl", "5m", "--reason", "release day"], a);
    const guard = startLokt(["guard", "pool", "--slots", "3", "--", "sleep", "60"], b);
    const waiter = startLokt(["lock", "build", "--wait", "--quiet"], c);
    try {
      await eventually("the guard's slot and the waiter's ticket", async () => {
        const run = await lokt(["status", "--json"], { env: a });
        const json = JSON.parse(run.stdout);
        const pool = json.locks.filter((l: { name: string }) => l.name === "pool");
        const build = json.locks.find((l: { name: string }) => l.name === "build");
        return pool.length === 2 && build?.waiters === 1;
      });

      const text = await ok(["status"], b);
      assertMatch(
        text.stdout,
        /^you are tester \(agent agent-b\); backend postgres:\/\/lokt@\/postgres\?host=\S+ \(namespace views\/status\)\n/,
      );
      assertMatch(text.stdout, /\nbuild +live +tester@\S+ .*; 1 waiting\n/);
      assertMatch(text.stdout, /\npool +live +.*slot 1, 2\/3 held; /);
      assertMatch(
        text.stdout,
        /\npool +live +tester@\S+ \(guard \d+, cmd \d+\) .*slot 2, 2\/3 held; /,
      );
      assertMatch(text.stdout, /\ndeploy +FROZEN +.* release day\n/);

      const json = JSON.parse((await ok(["status", "--json"], b)).stdout);
      assertEquals(json.backend, {
        kind: "postgres",
        location: masked,
        namespace: "views/status",
        source: "LOKT_BACKEND",
        namespace_source: "LOKT_NAMESPACE",
      });
      assertEquals(json.root, masked);
      assertEquals(json.identity.agent_id, "agent-b");
      assertEquals(
        json.locks.map((l: Record<string, unknown>) => [l.name, l.slot, l.agent_id, l.state]),
        [["build", 1, "agent-a", "live"], ["pool", 1, "agent-a", "live"], [
          "pool",
          2,
          "agent-b",
          "live",
        ]],
      );
      assertEquals(json.locks[0].waiters, 1);
      assertEquals(json.locks[2].kind, "guard");
      assertEquals(
        json.freezes.map((f: Record<string, unknown>) => [f.name, f.reason_text]),
        [["deploy", "release day"]],
      );
      assertEquals([json.unreadable, json.strays, json.pruned], [[], [], 0]);

      const pool = await ok(["status", "pool"], a);
      assertMatch(pool.stdout, /^pool: 2\/3 held\n/);
      const poolJson = JSON.parse((await ok(["status", "pool", "--json"], a)).stdout);
      assertEquals([poolJson.slots, poolJson.held, poolJson.holders.length], [3, 2, 2]);
      const one = JSON.parse((await ok(["status", "build", "--json"], b)).stdout);
      assertEquals([one.name, one.agent_id, one.waiters.length], ["build", "agent-a", 1]);
      assertMatch((await ok(["status", "build"], b)).stdout, /\nwaiters: +tester \(pid \d+\)\n/);
      const missing = await ok(["status", "nothing"], b, 3);
      assertMatch(missing.stderr, /nothing/);
    } finally {
      waiter.kill("SIGTERM");
      guard.kill("SIGTERM");
      await finish(waiter);
      await finish(guard);
    }
    assertEquals(exists(root), false, "no lock root was created");
  });

  await t.step("status --prune-expired breaks an expired lease and says so", async () => {
    const { a, b } = agents(cluster, root, "views/prune");
    await ok(["lock", "old", "--ttl", "1s"], a);
    await ok(["lock", "young", "--ttl", "5m"], a);
    await eventually("the lease to run out", async () => {
      const json = JSON.parse((await lokt(["status", "old", "--json"], { env: b })).stdout);
      return json.state === "stale";
    });
    const pruned = await ok(["status", "--prune-expired"], b);
    assertMatch(pruned.stdout, /^pruned lock "old" \(TTL expired\)\n/);
    const after = JSON.parse((await ok(["status", "--json", "--prune-expired"], b)).stdout);
    assertEquals(after.pruned, 0);
    assertEquals(after.locks.map((l: { name: string }) => l.name), ["young"]);
    const audit = await ok(["audit", "--name", "old", "--event", "stale-break", "--json"], b);
    assertEquals(audit.stdout.trim().split("\n").length, 1, audit.stdout);
  });

  await t.step("why: held, frozen and free, in text and --json, with its exit codes", async () => {
    const { a, b } = agents(cluster, root, "views/why");
    await ok(["lock", "build", "--ttl", "5m"], a);
    await ok(["freeze", "deploy", "--ttl", "5m", "--reason", "release day"], a);

    const held = await ok(["why", "build"], b, 2);
    assertMatch(held.stdout, /\n {2}HELD by tester@\S+ /);
    assertMatch(held.stdout, /\n {2}Fence: 1 \(the next new holder gets 2\)\n/);
    const heldJson = JSON.parse((await ok(["why", "build", "--json"], b, 2)).stdout);
    assertEquals(
      [heldJson.status, heldJson.reason, heldJson.holder.agent_id, heldJson.fence],
      ["blocked", "held", "agent-a", 1],
    );
    assertEquals(heldJson.root, masked);
    assertEquals(heldJson.root_exists, true);

    const mine = JSON.parse((await ok(["why", "build", "--json"], a)).stdout);
    assertEquals([mine.status, mine.outcome], ["free", "self-held"]);

    const frozen = await ok(["why", "deploy"], b, 2);
    assertMatch(frozen.stdout, /\n {2}FROZEN by tester@\S+\n/);
    assertMatch(frozen.stdout, /Reason: +release day/);
    const frozenJson = JSON.parse((await ok(["why", "deploy", "--json"], b, 2)).stdout);
    assertEquals([frozenJson.reason, frozenJson.freeze.reason_text], ["frozen", "release day"]);

    const free = await ok(["why", "nothing"], b, 0);
    assertMatch(free.stdout, /\n {2}Fence: 0 \(never acquired; the first holder gets 1\)\n/);
    assert(!free.stdout.includes("does not exist yet"), "no lock root is mentioned");
    const freeJson = JSON.parse((await ok(["why", "nothing", "--json"], b, 0)).stdout);
    assertEquals([freeJson.status, freeJson.acquirable, freeJson.holder], ["free", true, null]);
  });

  await t.step("audit: acquire, deny and release, filtered by name, event and owner", async () => {
    const { a, b } = agents(cluster, root, "views/audit");
    await ok(["lock", "a1", "--ttl", "1m"], a);
    await ok(["lock", "a1"], b, 2);
    await ok(["unlock", "a1"], a);
    await ok(["lock", "a2", "--ttl", "1m"], a);

    const lines = (await ok(["audit", "--name", "a1", "--json"], b)).stdout.trim().split("\n");
    assertEquals(
      lines.map((l) => JSON.parse(l)).map((e) => [e.event, e.name, e.agent_id]),
      [["acquire", "a1", "agent-a"], ["deny", "a1", "agent-b"], ["release", "a1", "agent-a"]],
    );
    const denies = await ok(["audit", "--event", "deny"], b);
    assertMatch(denies.stdout, /^\S+Z {2}deny +a1 {2}tester@\S+ {2}agent-b/);
    assertEquals(denies.stdout.trim().split("\n").length, 1, denies.stdout);
    const limited = await ok(["audit", "--limit", "1", "--json"], b);
    assertEquals(JSON.parse(limited.stdout).name, "a2");
    const none = await ok(["audit", "--owner", "nobody"], b);
    assertEquals([none.stdout, none.stderr], ["", "no matching events\n"]);
    await ok(["audit", "--event", "nonsense"], b, 64);
  });
});

Deno.test("status --json names the file backend too", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-a");
  await ok(["lock", "x"], env);
  const json = JSON.parse((await ok(["status", "--json"], env)).stdout);
  assertEquals(json.root, root);
  assertEquals(json.backend, {
    kind: "files",
    location: root,
    namespace: "",
    source: "default",
    namespace_source: "",
  });
  const chosen = JSON.parse(
    (await ok(["status", "--json"], { ...env, LOKT_BACKEND: "files" })).stdout,
  );
  assertEquals(chosen.backend.source, "LOKT_BACKEND");
});
