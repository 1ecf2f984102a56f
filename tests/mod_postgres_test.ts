/**
 * The library on PostgreSQL, against a private cluster, chosen as the command line chooses it
 * (`LOKT_BACKEND` and `LOKT_NAMESPACE`): `withLock` from several processes lets one in at a time
 * with increasing fences, and a handle with a TTL renews its lease past that TTL.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { holderEnv, REPO, tempDir } from "./helpers/cli.ts";
import { type Cluster, noPostgres, startCluster } from "./helpers/postgres.ts";
import { acquire, LockHeldError, LoktError, release, status, why } from "../mod.ts";

/** Runs `fn` with this process's environment choosing `url` in `namespace`. */
async function onBackend(url: string, namespace: string, fn: () => Promise<void>): Promise<void> {
  const saved = ["LOKT_BACKEND", "LOKT_NAMESPACE"].map((k) => [k, Deno.env.get(k)] as const);
  Deno.env.set("LOKT_BACKEND", url);
  Deno.env.set("LOKT_NAMESPACE", namespace);
  try {
    await fn();
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

async function holders(cluster: Cluster, namespace: string, name: string): Promise<string[]> {
  const out = await cluster.psql(
    `select record->>'lock_id' from lokt.holders where namespace = '${namespace}' and ` +
      `name = '${name}' order by slot`,
  );
  return out.split("\n").filter((l) => l !== "");
}

Deno.test({ name: "the library on PostgreSQL", ignore: noPostgres() }, async (t) => {
  await using cluster = await startCluster();

  await t.step(
    "withLock from three processes lets one in at a time, fences increasing",
    async () => {
      using dir = tempDir();
      const rounds = 15;
      const env = holderEnv(`${dir.path}/root`, "lib", {
        LOKT_BACKEND: cluster.url,
        LOKT_NAMESPACE: "lib/serial",
      });
      const workers = [0, 1, 2].map(() =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${REPO}/tests/mod_postgres_worker.ts`, dir.path, String(rounds)],
          env,
          clearEnv: true,
          cwd: dir.path,
          stdout: "piped",
          stderr: "piped",
        }).output()
      );
      for (const out of await Promise.all(workers)) {
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      }
      const lines = Deno.readTextFileSync(`${dir.path}/log`).trim().split("\n");
      assertEquals(lines.filter((l) => l.startsWith("OVERLAP")), [], "no two holders at once");
      const fences = lines.map((l) => Number(l.split(" ")[0]));
      assertEquals(fences.length, 3 * rounds);
      assertEquals(fences, fences.toSorted((a, b) => a - b), "in the order they were taken");
      assertEquals(new Set(fences).size, fences.length, "never repeated");
      assertEquals(new Set(lines.map((l) => l.split(" ")[1])).size, 3, "every process had turns");
      assertEquals(await holders(cluster, "lib/serial", "x"), [], "all released");
      assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["log"], "no lock root");
    },
  );

  await t.step("a handle with a TTL renews its lease past the TTL, then releases", async () => {
    using dir = tempDir();
    await onBackend(cluster.url, "lib/renew", async () => {
      const lost: string[] = [];
      const errors: string[] = [];
      const lock = await acquire("x", {
        cwd: dir.path,
        ttl: 600,
        onLost: (name) => lost.push(name),
        onError: (error) => errors.push(error.message),
      });
      // Three TTLs: only renewals (every 200 ms) keep the lease running.
      await new Promise((resolve) => setTimeout(resolve, 1_800));
      await assertRejects(acquire("x", { cwd: dir.path }), LockHeldError);
      assertEquals(await holders(cluster, "lib/renew", "x"), [lock.lockId]);
      const leased = await cluster.psql(
        "select count(*) from lokt.holders where namespace = 'lib/renew' and expires_at > now()",
      );
      assertEquals(leased.trim(), "1", "the lease runs on by the database's clock");
      assertEquals(await lock.release(), true);
      assertEquals(lost, []);
      assertEquals(errors, []);
      assertEquals(await holders(cluster, "lib/renew", "x"), []);
    });
  });

  await t.step(
    "without a TTL a handle gets a guard's lease, renewed while it is held",
    async () => {
      using dir = tempDir();
      await onBackend(cluster.url, "lib/default", async () => {
        await using lock = await acquire("x", { cwd: dir.path });
        const ttl = await cluster.psql(
          "select record->>'ttl_ms' from lokt.holders where namespace = 'lib/default'",
        );
        assertEquals(ttl.trim(), "30000");
        assertEquals(lock.fence, 1);
      });
      assertEquals(await holders(cluster, "lib/default", "x"), []);
    },
  );

  await t.step("release breaks a hold in the database; its holder learns it lost it", async () => {
    using dir = tempDir();
    await onBackend(cluster.url, "lib/break", async () => {
      const lost: string[] = [];
      const lock = await acquire("x", { cwd: dir.path, onLost: (name) => lost.push(name) });
      const live = await release("x", { cwd: dir.path, mode: "break-stale" });
      assertEquals(live.kind, "not-stale", "a live holder is left alone");
      const broken = await release("x", { cwd: dir.path, mode: "force" });
      assertEquals(broken.kind, "removed");
      assertEquals(await holders(cluster, "lib/break", "x"), []);
      const deadline = Date.now() + 5_000;
      while (lost.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assertEquals(lost, ["x"], "noticed within a second or so");
      assertEquals(await lock.release(), false);
    });
  });

  await t.step(
    "status() and why() read files only: they refuse the database's choice",
    async () => {
      using dir = tempDir();
      await onBackend(cluster.url, "lib/views", () => {
        for (const view of [() => status({ cwd: dir.path }), () => why("x", { cwd: dir.path })]) {
          let thrown: unknown;
          try {
            view();
          } catch (error) {
            thrown = error;
          }
          assert(thrown instanceof LoktError && thrown.code === "invalid_config", String(thrown));
          assertMatch(thrown.message, /the library's status\(\) and why\(\) \(files only\)/);
        }
        return Promise.resolve();
      });
    },
  );
});
