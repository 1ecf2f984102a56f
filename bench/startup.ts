/**
 * Start-up: `lokt exists x`, `lokt lock x`, `lokt unlock x` (a lock + unlock cycle) and
 * `lokt guard x -- true`, against `deno run` of an empty script and `flock(1)`. Every case runs
 * once per round, rounds interleaved, so machine noise hits every command alike; medians and
 * ratios are reported.
 *
 *   deno run -A bench/startup.ts [--rounds 200]
 */

import { median, quantile, runTimed, type Sample } from "./stats.ts";
import { emptyDeno, hasCommand, lokt, loktEnv, makeDir, removeDir } from "./setup.ts";
import { ms, ratio, type Row, type Section, verdict } from "./table.ts";

/** How much to measure. */
export interface StartupSizes {
  rounds: number;
  warmup: number;
}

/** Full-size run. */
export const FULL: StartupSizes = { rounds: 100, warmup: 5 };
/** Smoke-test size. */
export const QUICK: StartupSizes = { rounds: 1, warmup: 0 };

/** The start-up budget of PRODUCT.md: each command within 1.5x the empty script. */
const BUDGET_RATIO = 1.5;

interface Case {
  key: string;
  /** Command lines timed one after another; each step's time is kept. */
  steps: string[][];
  /** The exit code each step must return. */
  codes: number[];
}

/** Runs the start-up benchmark; returns its rows. */
export async function benchStartup(sizes: StartupSizes): Promise<Section> {
  const dir = makeDir("startup");
  const env = loktEnv(`${dir}/root`);
  const flockFile = `${dir}/flockfile`;
  const withFlock = hasCommand("flock", "--version");
  const cases: Case[] = [
    { key: "empty", steps: [emptyDeno()], codes: [0] },
    ...(withFlock ? [{ key: "flock", steps: [["flock", flockFile, "true"]], codes: [0] }] : []),
    { key: "true", steps: [["true"]], codes: [0] },
    { key: "empty+true", steps: [emptyDeno(), ["true"]], codes: [0, 0] },
    // `exists` of a name nobody holds: it exits 3.
    { key: "exists", steps: [lokt("exists", "x")], codes: [3] },
    // The cycle: a fresh take, then its release (separate steps, timed separately).
    {
      key: "cycle",
      steps: [lokt("lock", "x", "--ttl", "5m"), lokt("unlock", "x")],
      codes: [0, 0],
    },
    { key: "guard", steps: [lokt("guard", "g", "--", "true")], codes: [0] },
  ];

  try {
    for (let i = 0; i < sizes.warmup; i++) {
      for (const c of cases) {
        for (const [i, s] of c.steps.entries()) await runTimed(s, env, c.codes[i]);
      }
    }
    const samples = new Map<string, Sample[][]>(cases.map((c) => [c.key, c.steps.map(() => [])]));
    for (let r = 0; r < sizes.rounds; r++) {
      for (const c of cases) {
        for (const [i, step] of c.steps.entries()) {
          samples.get(c.key)![i].push(await runTimed(step, env, c.codes[i]));
        }
      }
    }

    const total = (key: string) => {
      const steps = samples.get(key)!;
      return steps[0].map((_, r) => steps.reduce((sum, s) => sum + s[r], 0));
    };
    const step = (key: string, i: number) => samples.get(key)![i];
    const empty = median(total("empty"));
    const flock = withFlock ? median(total("flock")) : undefined;
    const trueMs = median(total("true"));
    const emptyTrue = median(total("empty+true"));

    const rows: Row[] = [];
    const row = (
      bench: string,
      subject: string,
      values: number[],
      refs: { flock?: number; deno?: number; budget?: boolean },
    ): void => {
      const m = median(values);
      rows.push({
        bench,
        subject,
        n: values.length,
        median: ms(m),
        p99: ms(quantile(values, 0.99)),
        vsFlock: ratio(m, refs.flock),
        vsDeno: ratio(m, refs.deno),
        budget: refs.budget && refs.deno !== undefined
          ? verdict(`<= ${BUDGET_RATIO}x empty deno`, m <= BUDGET_RATIO * refs.deno)
          : "",
      });
    };
    row("start-up", "deno run empty.ts", total("empty"), { flock, deno: empty });
    if (withFlock) row("start-up", "flock f true", total("flock"), { flock, deno: empty });
    row("start-up", "lokt exists x", total("exists"), { flock, deno: empty, budget: true });
    row("start-up", "lokt lock x (free)", step("cycle", 0), { flock, deno: empty, budget: true });
    row("start-up", "lokt unlock x (held)", step("cycle", 1), { flock, deno: empty, budget: true });
    row("start-up", "lokt lock x + lokt unlock x", total("cycle"), {
      flock: flock === undefined ? undefined : 2 * flock,
      deno: 2 * empty,
    });
    row("guard overhead", "true", total("true"), { flock, deno: emptyTrue });
    row("guard overhead", "deno run empty.ts; true", total("empty+true"), {
      flock,
      deno: emptyTrue,
    });
    if (withFlock) {
      row("guard overhead", "flock f true", total("flock"), { flock, deno: emptyTrue });
    }
    row("guard overhead", "lokt guard x -- true", total("guard"), { flock, deno: emptyTrue });

    const guardOver = median(total("guard")) - trueMs;
    const notes = [
      `start-up: ${sizes.rounds} interleaved rounds after ${sizes.warmup} warm-up rounds; ` +
      "`deno run -A` with a warm cache. The lock + unlock row compares with two empty runs " +
      "(and two flock runs).",
      `guard overhead: the "vs empty deno" column compares with \`deno run empty.ts; true\`; ` +
      `lokt guard x -- true costs ${ms(guardOver)} more than \`true\` alone` +
      (flock === undefined ? "." : `, flock f true ${ms(flock - trueMs)} more.`),
    ];
    return { rows, notes };
  } finally {
    removeDir(dir);
  }
}

if (import.meta.main) {
  const { renderTable } = await import("./table.ts");
  const i = Deno.args.indexOf("--rounds");
  const rounds = i >= 0 ? Number(Deno.args[i + 1]) : FULL.rounds;
  const section = await benchStartup({ ...FULL, rounds });
  console.log(renderTable(section.rows));
  for (const note of section.notes) console.log(`- ${note}`);
}
