/**
 * Peak memory: the maximum resident set size of `lokt exists x`, `lokt lock x`, `lokt unlock x`
 * and `lokt guard x -- true` against `deno run` of an empty script, `flock f true` and flock(1)
 * written in Deno (`bench/deno_flock.ts f true`, the floor of any Deno guard), as GNU
 * time's `%M` reports it (the kernel's `ru_maxrss` of the process; for guard, the largest of
 * guard and its child, which is guard). Rounds interleaved; medians.
 *
 *   deno run -A bench/memory.ts [--rounds 10]
 */

import { median, quantile } from "./stats.ts";
import {
  DENO_FLOCK_ROW,
  denoFlock,
  emptyDeno,
  hasCommand,
  lokt,
  loktEnv,
  loktFrom,
  makeDir,
  releaseBeside,
  removeDir,
} from "./setup.ts";
import { ratio, type Row, type Section, verdict } from "./table.ts";

/** How much to measure. */
export interface MemorySizes {
  rounds: number;
}

/** Full-size run. */
export const FULL: MemorySizes = { rounds: 10 };
/** Smoke-test size. */
export const QUICK: MemorySizes = { rounds: 1 };

/** GNU time, which reports the peak RSS of the command it runs. */
const GNU_TIME = "/usr/bin/time";

/** The memory budget of PRODUCT.md: guard's peak RSS within 1.3x the empty script. */
const BUDGET_RATIO = 1.3;

/** Runs `cmd` under GNU time; returns its peak RSS in KiB. */
async function peakRssKiB(
  cmd: string[],
  env: Record<string, string>,
  out: string,
  expectCode: number,
): Promise<number> {
  const result = await new Deno.Command(GNU_TIME, {
    args: ["-f", "%M", "-o", out, ...cmd],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (result.code !== expectCode) {
    throw new Error(`\`${cmd.join(" ")}\` exited ${result.code}, expected ${expectCode}`);
  }
  const kib = Number(Deno.readTextFileSync(out).trim().split("\n").pop());
  if (!Number.isFinite(kib) || kib <= 0) {
    throw new Error(`no peak RSS for \`${cmd.join(" ")}\` (exit ${result.code})`);
  }
  return kib;
}

/** Runs the memory benchmark; returns its rows. */
export async function benchMemory(sizes: MemorySizes): Promise<Section> {
  if (!hasCommand(GNU_TIME, "-f", "%M", "-o", "/dev/null", "true")) {
    return { rows: [], notes: ["peak RSS: skipped (GNU time not found at /usr/bin/time)."] };
  }
  const dir = makeDir("memory");
  try {
    const env = loktEnv(`${dir}/root`);
    const out = `${dir}/rss`;
    const withFlock = hasCommand("flock", "--version");
    const cases: [string, string[][]][] = [
      ["deno run empty.ts", [emptyDeno()]],
      ...(withFlock
        ? [["flock f true", [["flock", `${dir}/flockfile`, "true"]]] as [string, string[][]]]
        : []),
      ["lokt exists x", [lokt("exists", "x")]],
      ["lokt lock x; lokt unlock x", [lokt("lock", "x", "--ttl", "5m"), lokt("unlock", "x")]],
      ["lokt guard x -- true", [lokt("guard", "g", "--", "true")]],
      [DENO_FLOCK_ROW, [denoFlock(`${dir}/denoflockfile`, "true")]],
    ];
    const beside = await releaseBeside();
    if (beside !== undefined) {
      cases.push(["lokt guard x -- true (release bundle)", [
        loktFrom(beside, "guard", "g", "--", "true"),
      ]]);
    }
    const samples = new Map<string, number[][]>(
      cases.map(([k, steps]) => [k, steps.map(() => [])]),
    );
    for (let r = 0; r < sizes.rounds; r++) {
      for (const [key, steps] of cases) {
        for (const [i, step] of steps.entries()) {
          // Only `exists` of a name nobody holds exits non-zero (3).
          const code = key === "lokt exists x" ? 3 : 0;
          samples.get(key)![i].push(await peakRssKiB(step, env, out, code));
        }
      }
    }
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const empty = median(samples.get("deno run empty.ts")![0]);
    const flock = withFlock ? median(samples.get("flock f true")![0]) : undefined;
    const rows: Row[] = [];
    const row = (subject: string, values: number[], budget: boolean) => {
      const m = median(values);
      rows.push({
        bench: "peak RSS",
        subject,
        n: values.length,
        median: mib(m),
        p99: mib(quantile(values, 0.99)),
        vsFlock: ratio(m, flock),
        vsDeno: ratio(m, empty),
        budget: budget ? verdict(`<= ${BUDGET_RATIO}x empty deno`, m <= BUDGET_RATIO * empty) : "",
      });
    };
    row("deno run empty.ts", samples.get("deno run empty.ts")![0], false);
    if (flock !== undefined) row("flock f true", samples.get("flock f true")![0], false);
    row("lokt exists x", samples.get("lokt exists x")![0], false);
    const [lock, unlock] = samples.get("lokt lock x; lokt unlock x")!;
    row("lokt lock x", lock, false);
    row("lokt unlock x", unlock, false);
    row("lokt guard x -- true", samples.get("lokt guard x -- true")![0], true);
    const release = samples.get("lokt guard x -- true (release bundle)");
    if (release) row("lokt guard x -- true (release bundle)", release[0], true);
    row(DENO_FLOCK_ROW, samples.get(DENO_FLOCK_ROW)![0], false);
    return {
      rows,
      notes: [
        `peak RSS: GNU time's %M (ru_maxrss) over ${sizes.rounds} interleaved rounds.`,
      ],
    };
  } finally {
    removeDir(dir);
  }
}

if (import.meta.main) {
  const { renderTable } = await import("./table.ts");
  const i = Deno.args.indexOf("--rounds");
  const section = await benchMemory({ rounds: i >= 0 ? Number(Deno.args[i + 1]) : FULL.rounds });
  console.log(renderTable(section.rows));
  for (const note of section.notes) console.log(`- ${note}`);
}
