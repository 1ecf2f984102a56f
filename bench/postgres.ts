/**
 * The PostgreSQL backend's budgets: in-process acquire + release (target: median ≤ 1 ms),
 * hand-off from a holder's release to a waiting process holding the name (target: median
 * ≤ 5 ms), and the CLI's `lokt lock` + `lokt unlock` against the same pair on files (target:
 * ≤ 2x), with `lokt guard x -- true` beside it, files and PostgreSQL alternating round by round;
 * on a private cluster over a unix socket (or the database named by `LOKT_BENCH_POSTGRES`). Run
 * on demand, never as a test:
 *
 *   deno run -A bench/postgres.ts [--quick]
 */

import { median, quantile } from "./stats.ts";
import { openPostgres } from "../src/backends/postgres/mod.ts";
import type { Backend } from "../src/backends/backend.ts";
import type { Claim } from "../src/locks/holder.ts";
import { type Cluster, startCluster } from "../tests/helpers/postgres.ts";
import { platformProbe } from "../tests/helpers/cli.ts";
import { DENO, RUN_ARGS } from "./setup.ts";

const quick = Deno.args.includes("--quick");
const CYCLES = quick ? 200 : 2_000;
const HANDOFFS = quick ? 20 : 100;

const probe = platformProbe();
const host = probe.machine().host;
const claim: Claim = {
  owner: "bench",
  host,
  agentId: "holder",
  ancestors: [],
  pid: Deno.pid,
  process: { pid: Deno.pid, source: "self" },
};

function describe(label: string, samples: number[]): string {
  return `${label}: median ${median(samples).toFixed(3)} ms, p90 ${
    quantile(samples, 0.9).toFixed(3)
  } ms (n=${samples.length})`;
}

async function acquireRelease(backend: Backend): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < CYCLES + 50; i++) {
    const start = performance.now();
    const got = await backend.acquire({ name: "bench-cycle", kind: "guard", claim, ttlMs: 30_000 });
    if (got.kind !== "acquired") throw new Error(got.kind);
    await backend.release({
      name: "bench-cycle",
      mode: "owner",
      claim,
      lockId: got.holder.record.lockId,
    });
    if (i >= 50) samples.push(performance.now() - start); // the first ones warm up
  }
  return samples;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!await check()) await new Promise((r) => setTimeout(r, 1));
}

async function handoff(backend: Backend, url: string): Promise<number[]> {
  const waiter = new Deno.Command(DENO, {
    args: [
      ...RUN_ARGS,
      new URL("./postgres_waiter.ts", import.meta.url).pathname,
      url,
      "bench-handoff",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = waiter.stdin.getWriter();
  const reader = waiter.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async () => {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the waiter exited");
      buffered += value;
    }
    const line = buffered.slice(0, buffered.indexOf("\n"));
    buffered = buffered.slice(line.length + 1);
    return line;
  };
  const samples: number[] = [];
  try {
    for (let round = 0; round < HANDOFFS + 3; round++) {
      const got = await backend.acquire({ name: "bench-handoff", kind: "guard", claim });
      if (got.kind !== "acquired") throw new Error(got.kind);
      await writer.write(new TextEncoder().encode("go\n"));
      await until(async () => (await backend.observe("bench-handoff")).waiters.length === 1);
      const released = performance.timeOrigin + performance.now();
      await backend.release({
        name: "bench-handoff",
        mode: "owner",
        claim,
        lockId: got.holder.record.lockId,
      });
      const held = Number(await nextLine());
      if (round >= 3) samples.push(held - released);
      await until(async () => (await backend.observe("bench-handoff")).holders.length === 0);
    }
  } finally {
    await writer.close();
    await waiter.status;
  }
  return samples;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CLI_ROUNDS = quick ? 10 : 40;

/** Runs `lokt ARGS` once; its wall time in milliseconds. */
async function timedLokt(args: string[], env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(DENO, {
    args: [...RUN_ARGS, MAIN, ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (!out.success) {
    throw new Error(`lokt ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

/** CLI `lock`+`unlock` and `guard -- true` on files and on PostgreSQL, alternating rounds. */
async function cli(url: string): Promise<void> {
  const root = Deno.makeTempDirSync({ prefix: "lokt-bench-files-" });
  const base = { LOKT_ROOT: root, LOKT_AGENT_ID: "bench-cli", LOKT_NO_DETECT: "1", NO_COLOR: "1" };
  const envs = {
    files: { ...base, LOKT_BACKEND: "files" },
    postgres: { ...base, LOKT_BACKEND: url, LOKT_NAMESPACE: "bench-cli" },
  };
  const pairs = { files: [] as number[], postgres: [] as number[] };
  const guards = { files: [] as number[], postgres: [] as number[] };
  try {
    for (let round = 0; round < CLI_ROUNDS + 2; round++) {
      const order = round % 2 === 0
        ? ["files", "postgres"] as const
        : ["postgres", "files"] as const;
      for (const kind of order) {
        const pair = await timedLokt(["lock", "bench-cli"], envs[kind]) +
          await timedLokt(["unlock", "bench-cli"], envs[kind]);
        const guard = await timedLokt(["guard", "bench-cli", "--", "true"], envs[kind]);
        if (round >= 2) {
          pairs[kind].push(pair);
          guards[kind].push(guard);
        }
      }
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
  for (const [label, samples] of [["lock + unlock", pairs], ["guard x -- true", guards]] as const) {
    const ratio = median(samples.postgres) / median(samples.files);
    console.log(
      `CLI ${label}: files ${median(samples.files).toFixed(1)} ms, PostgreSQL ${
        median(samples.postgres).toFixed(1)
      } ms, ratio ${ratio.toFixed(2)}x (n=${samples.files.length} each, alternating)`,
    );
  }
}

let cluster: Cluster | undefined;
const url = Deno.env.get("LOKT_BENCH_POSTGRES") ?? (cluster = await startCluster()).url;
try {
  const opened = performance.now();
  await using backend = await openPostgres(url, {
    namespace: "bench",
    probe,
    actor: { owner: "bench", host, pid: Deno.pid, agentId: "holder" },
  });
  console.log(
    `open (client import, connect, schema): ${(performance.now() - opened).toFixed(1)} ms`,
  );
  console.log(describe("acquire + release, in process", await acquireRelease(backend)));
  console.log(describe("hand-off to a waiting process", await handoff(backend, url)));
  await cli(url);
} finally {
  await cluster?.stop();
}
