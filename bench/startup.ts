/**
 * Start-up benchmark: `lokt exists x` and a `lock`+`unlock` cycle against `deno run` of an empty
 * script and `flock(1)`, interleaved round by round so that machine noise hits every command
 * alike. Prints medians and ratios to the empty script.
 *
 *   deno run -A bench/startup.ts [--rounds 200] [--json]
 */

import { median, quantile, runTimed, type Sample } from "./stats.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const args = Deno.args;
const rounds = Number(args[args.indexOf("--rounds") + 1]) || 200;
const json = args.includes("--json");

const root = Deno.makeTempDirSync({ prefix: "lokt-bench-" });
const env = {
  LOKT_ROOT: `${root}/lokt`,
  LOKT_NO_DETECT: "1",
  LOKT_AGENT_ID: "bench",
  NO_COLOR: "1",
};
const deno = Deno.execPath();
const lokt = (...rest: string[]) => [deno, "run", "-A", `${repo}/main.ts`, ...rest];

interface Case {
  label: string;
  /** One or more command lines timed together as one sample. */
  steps: string[][];
}

const cases: Case[] = [
  { label: "deno run (empty script)", steps: [[deno, "run", "-A", `${repo}/bench/empty.ts`]] },
  { label: "flock -n file true", steps: [["flock", "-n", `${root}/flockfile`, "true"]] },
  { label: "lokt exists x", steps: [lokt("exists", "x")] },
  { label: "lokt lock x", steps: [lokt("lock", "y", "--ttl", "5m")] },
  {
    label: "lokt lock x + lokt unlock x",
    steps: [lokt("lock", "x", "--ttl", "5m"), lokt("unlock", "x")],
  },
];

// Warm the module and code caches.
for (let i = 0; i < 5; i++) for (const c of cases) for (const s of c.steps) await runTimed(s, env);
const samples = new Map<string, Sample[]>(cases.map((c) => [c.label, []]));
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    let total = 0;
    for (const step of c.steps) total += await runTimed(step, env);
    samples.get(c.label)!.push(total);
  }
  // `lock y` re-enters after its first round; release it so every round measures a fresh take.
  await runTimed(lokt("unlock", "y"), env);
}
Deno.removeSync(root, { recursive: true });

const base = median(samples.get(cases[0].label)!);
const rows = cases.map((c) => {
  const s = samples.get(c.label)!;
  const steps = c.steps.length;
  return {
    command: c.label,
    median_ms: median(s),
    p90_ms: quantile(s, 0.9),
    per_invocation_ratio: median(s) / steps / base,
  };
});
if (json) {
  console.log(JSON.stringify({ rounds, rows }, null, 2));
} else {
  console.log(
    `start-up, ${rounds} interleaved rounds (ratio: median per invocation / empty deno run)`,
  );
  console.log(
    `${"command".padEnd(32)}${"median".padStart(10)}${"p90".padStart(10)}${"ratio".padStart(8)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.command.padEnd(32)}${r.median_ms.toFixed(1).padStart(8)}ms${
        r.p90_ms.toFixed(1).padStart(8)
      }ms` +
        `${r.per_invocation_ratio.toFixed(2).padStart(8)}`,
    );
  }
}
