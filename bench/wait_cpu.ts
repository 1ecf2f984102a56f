/**
 * What waiting costs a guard in CPU: `lokt guard x --wait --timeout 60s -- true` while another
 * agent holds `x` and releases it after W ms, for several W (0: nothing to wait for), in
 * interleaved rounds, beside `deno run` of an empty script. Prints the mean user and system CPU of
 * each (Linux: the children's times in /proc/self/stat, in steps of 10 ms, hence means over many
 * rounds).
 *
 *   deno run -A bench/wait_cpu.ts [--rounds 30] [--waits 0,400,1600]
 *
 * `LOKT_BENCH_MAIN` chooses the CLI as for every benchmark (`release` for the release bundle).
 */

import { emptyDeno, lokt, loktEnv, makeDir, removeDir, sleep } from "./setup.ts";
import { runTimed } from "./stats.ts";

/** User and system CPU (ms) of this process's waited-for children so far. */
function childrenCpu(): { user: number; sys: number } {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  // cutime and cstime, fields 16 and 17 of proc(5), in clock ticks of 10 ms.
  return { user: Number(fields[13]) * 10, sys: Number(fields[14]) * 10 };
}

/** One guard that waits `waitMs` (0: the name is free); its CPU. */
async function guardOnce(waitMs: number): Promise<{ user: number; sys: number }> {
  const root = makeDir("wait-cpu");
  try {
    if (waitMs > 0) await runTimed(lokt("lock", "x"), loktEnv(root, "holder"), 0);
    const cmd = lokt("guard", "x", "--wait", "--timeout", "60s", "--", "true");
    const guard = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      env: loktEnv(root, "waiter"),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    if (waitMs > 0) {
      await sleep(waitMs);
      await runTimed(lokt("unlock", "x"), loktEnv(root, "holder"), 0);
    }
    const before = childrenCpu();
    const out = await guard.output();
    const after = childrenCpu();
    if (!out.success) throw new Error(`guard exited ${out.code}`);
    return { user: after.user - before.user, sys: after.sys - before.sys };
  } finally {
    removeDir(root);
  }
}

async function emptyOnce(): Promise<{ user: number; sys: number }> {
  const before = childrenCpu();
  await runTimed(emptyDeno(), {}, 0);
  const after = childrenCpu();
  return { user: after.user - before.user, sys: after.sys - before.sys };
}

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback;
}

if (import.meta.main) {
  const rounds = Number(option("--rounds", "30"));
  const waits = option("--waits", "0,400,1600").split(",").map(Number);
  if (!(rounds > 0) || waits.some((w) => !(w >= 0))) {
    console.error("usage: deno run -A bench/wait_cpu.ts [--rounds N] [--waits 0,400,1600]");
    Deno.exit(64);
  }
  const samples = new Map<string, { user: number; sys: number }[]>();
  const add = (key: string, cpu: { user: number; sys: number }) =>
    samples.set(key, [...samples.get(key) ?? [], cpu]);
  for (let round = 0; round < rounds; round++) {
    add("deno run empty.ts", await emptyOnce());
    for (const w of waits) add(`guard --wait, held ${w} ms`, await guardOnce(w));
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  for (const [key, cpus] of samples) {
    const user = mean(cpus.map((c) => c.user));
    const sys = mean(cpus.map((c) => c.sys));
    console.log(
      `${key.padEnd(28)} user ${user.toFixed(1)} ms, system ${sys.toFixed(1)} ms, ` +
        `total ${(user + sys).toFixed(1)} ms (mean of ${cpus.length})`,
    );
  }
}
