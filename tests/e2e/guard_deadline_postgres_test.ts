/**
 * A guard on PostgreSQL that cannot renew its lease counts the lock lost at its own deadline and
 * stops its command before the lease ends by the database's clock, even a command that ignores
 * SIGTERM: whether the database is gone (its socket refused) or stops answering (its processes
 * stopped). The lease end is read back from the database afterwards (the holder's row is still
 * there: no one took the name), and compared with the command's last heartbeat; the database
 * and the command run on this host, so both read the same clock.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { lokt, tempDir } from "../helpers/cli.ts";
import { type Cluster, noPostgres, startCluster } from "../helpers/postgres.ts";

const TTL_MS = 2_000;

/** The pids of the cluster's postmaster and its children. */
async function serverPids(cluster: Cluster): Promise<number[]> {
  const pgrep = async (args: string[]) =>
    new TextDecoder().decode((await new Deno.Command("pgrep", { args }).output()).stdout)
      .trim().split("\n").filter((line) => line !== "").map(Number);
  const postmaster = Number(
    Deno.readTextFileSync(`${cluster.dir}/data/postmaster.pid`).split("\n")[0],
  );
  assert(postmaster > 0, "the postmaster runs");
  return [postmaster, ...await pgrep(["-P", String(postmaster)])];
}

/**
 * Runs a guard whose command ignores SIGTERM and writes a heartbeat every 50 ms, takes the
 * database away with `fault` after 1.5 s, and checks the guard's exit against the lease and
 * against the moment the fault was in place.
 */
async function deadlineCase(
  fault: (cluster: Cluster) => Promise<() => Promise<void>>,
): Promise<void> {
  await using cluster = await startCluster();
  using dir = tempDir();
  const beats = `${dir.path}/beats`;
  const env = {
    LOKT_BACKEND: cluster.url,
    LOKT_NAMESPACE: "deadline",
    LOKT_AGENT_ID: "guard",
    LOKT_ROOT: `${dir.path}/root`,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
  const script = `trap "" TERM; while :; do date +%s%3N >> ${beats}; sleep 0.05; done`;
  const guard = lokt(["guard", "deploy", "--ttl", "2s", "--", "sh", "-c", script], { env });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const recover = await fault(cluster);
  // Taken once the fault is in place: the database can commit a renewal until the last of its
  // processes is stopped (finding them takes a pgrep, tens of milliseconds on a busy machine).
  const faultAt = Date.now();
  const run = await guard;
  const exitedAfter = Date.now() - faultAt;
  await recover();

  assertEquals(run.code, 75, run.stderr);
  assertMatch(run.stderr, /lock "deploy" was lost .*its lease could not be renewed in time/);
  // The client's reconnection attempts print nothing of their own (a Node timer warning once).
  assertNotMatch(run.stderr, /Warning/);
  const lines = Deno.readTextFileSync(beats).trim().split("\n").map(Number);
  const lastBeat = lines[lines.length - 1];
  const expires = Number(
    await cluster.psql(
      "select floor(extract(epoch from expires_at) * 1000)::bigint from lokt.holders " +
        "where namespace = 'deadline' and name = 'deploy'",
    ),
  );
  assert(Number.isFinite(expires) && expires > 0, `the holder's row is there (${expires})`);
  // The lease ran at most to `expires`; the command had stopped before.
  assert(
    lastBeat < expires,
    `the command ran until ${lastBeat}, after its lease ended at ${expires}`,
  );
  assert(
    expires - faultAt <= TTL_MS,
    `the last renewal came before the fault (lease end ${expires}, fault ${faultAt})`,
  );
  // The guard does not wait for a renewal that hangs on a database that does not answer.
  assert(exitedAfter < TTL_MS + 3_000, `the guard exited ${exitedAfter} ms after the fault`);
}

Deno.test({
  name:
    "a guard whose database is gone stops its command before the lease ends, even one ignoring SIGTERM",
  ignore: noPostgres(),
  async fn() {
    await deadlineCase(async (cluster) => {
      // SIGQUIT: the postmaster's immediate shutdown; its data directory stays for a restart.
      const [postmaster] = await serverPids(cluster);
      Deno.kill(postmaster, "SIGQUIT");
      return async () => await cluster.crashRestart();
    });
  },
});

Deno.test({
  name: "a guard whose database stops answering stops its command before the lease ends, and exits",
  ignore: noPostgres(),
  async fn() {
    await deadlineCase(async (cluster) => {
      const pids = await serverPids(cluster);
      for (const pid of pids) Deno.kill(pid, "SIGSTOP");
      return () => {
        for (const pid of pids) Deno.kill(pid, "SIGCONT");
        return Promise.resolve();
      };
    });
  },
});
