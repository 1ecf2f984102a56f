/**
 * Start-up: `lokt exists x`, `lokt status`, `lokt lock x`, `lokt unlock x` (a lock + unlock
 * cycle) and `lokt guard x -- true`, against `deno run` of an empty script and `flock(1)`, in wall
 * time and in CPU time (user + system). Beside guard, `bench/deno_flock.ts f true`: flock(1)
 * written in Deno, the floor of any Deno guard. Every case runs once per round, rounds
 * interleaved, so machine noise hits every command alike; medians and ratios are reported.
 *
 *   deno run -A bench/startup.ts [--rounds 100]
 */

import { median, quantile, runCpu, runTimed, type Sample } from "./stats.ts";
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

/** The budgets of PRODUCT.md, against `deno run` of an empty script. */
const COMMAND_BUDGET = 1.25;
const GUARD_BUDGET = 1.5;

interface Case {
  key: string;
  /** Command lines timed one after another; each step's time is kept. */
  steps: string[][];
  /** The exit code each step must return. */
  codes: number[];
}

type Samples = Map<string, Sample[][]>;

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
    { key: "status", steps: [lokt("status")], codes: [0] },
    // The cycle: a fresh take, then its release (separate steps, timed separately).
    {
      key: "cycle",
      steps: [lokt("lock", "x", "--ttl", "5m"), lokt("unlock", "x")],
      codes: [0, 0],
    },
    { key: "guard", steps: [lokt("guard", "g", "--", "true")], codes: [0] },
    { key: "deno-flock", steps: [denoFlock(`${dir}/denoflockfile`, "true")], codes: [0] },
  ];
  const release = await releaseBeside();
  if (release !== undefined) {
    const r = (...args: string[]) => loktFrom(release, ...args);
    cases.push(
      { key: "r-exists", steps: [r("exists", "x")], codes: [3] },
      { key: "r-status", steps: [r("status")], codes: [0] },
      { key: "r-cycle", steps: [r("lock", "x", "--ttl", "5m"), r("unlock", "x")], codes: [0, 0] },
      { key: "r-guard", steps: [r("guard", "g", "--", "true")], codes: [0] },
    );
  }

  try {
    for (let i = 0; i < sizes.warmup; i++) {
      for (const c of cases) {
        for (const [i, s] of c.steps.entries()) await runTimed(s, env, c.codes[i]);
      }
    }
    const fresh = (): Samples => new Map(cases.map((c) => [c.key, c.steps.map(() => [])]));
    const wall = fresh();
    const cpu = fresh();
    for (let r = 0; r < sizes.rounds; r++) {
      for (const c of cases) {
        for (const [i, step] of c.steps.entries()) {
          wall.get(c.key)![i].push(await runTimed(step, env, c.codes[i]));
        }
        for (const [i, step] of c.steps.entries()) {
          cpu.get(c.key)![i].push(await runCpu(step, env, c.codes[i]));
        }
      }
    }

    const total = (samples: Samples, key: string) => {
      const steps = samples.get(key)!;
      return steps[0].map((_, r) => steps.reduce((sum, s) => sum + s[r], 0));
    };
    const step = (samples: Samples, key: string, i: number) => samples.get(key)![i];
    const empty = median(total(wall, "empty"));
    const emptyCpu = median(total(cpu, "empty"));
    const flock = withFlock ? median(total(wall, "flock")) : undefined;
    const flockCpu = withFlock ? median(total(cpu, "flock")) : undefined;
    const trueMs = median(total(wall, "true"));
    const emptyTrue = median(total(wall, "empty+true"));

    const rows: Row[] = [];
    const row = (
      bench: string,
      subject: string,
      values: number[],
      refs: { flock?: number; deno?: number; budget?: number },
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
        budget: refs.budget !== undefined && refs.deno !== undefined
          ? verdict(`<= ${refs.budget}x empty deno`, m <= refs.budget * refs.deno)
          : "",
      });
    };
    const wallRefs = (budget?: number) => ({ flock, deno: empty, budget });
    const cpuRefs = (budget?: number) => ({ flock: flockCpu, deno: emptyCpu, budget });
    for (
      const [bench, samples, refs] of [
        ["start-up, wall", wall, wallRefs],
        ["start-up, CPU", cpu, cpuRefs],
      ] as const
    ) {
      row(bench, "deno run empty.ts", total(samples, "empty"), refs());
      if (withFlock) row(bench, "flock f true", total(samples, "flock"), refs());
      row(bench, "lokt exists x", total(samples, "exists"), refs(COMMAND_BUDGET));
      row(bench, "lokt status", total(samples, "status"), refs(COMMAND_BUDGET));
      row(bench, "lokt lock x (free)", step(samples, "cycle", 0), refs(COMMAND_BUDGET));
      row(bench, "lokt unlock x (held)", step(samples, "cycle", 1), refs(COMMAND_BUDGET));
      row(bench, "lokt guard x -- true", total(samples, "guard"), refs(GUARD_BUDGET));
      row(bench, DENO_FLOCK_ROW, total(samples, "deno-flock"), refs());
      if (release !== undefined) {
        const b = " (release bundle)";
        row(bench, `lokt exists x${b}`, total(samples, "r-exists"), refs(COMMAND_BUDGET));
        row(bench, `lokt status${b}`, total(samples, "r-status"), refs(COMMAND_BUDGET));
        row(bench, `lokt lock x (free)${b}`, step(samples, "r-cycle", 0), refs(COMMAND_BUDGET));
        row(bench, `lokt unlock x (held)${b}`, step(samples, "r-cycle", 1), refs(COMMAND_BUDGET));
        row(bench, `lokt guard x -- true${b}`, total(samples, "r-guard"), refs(GUARD_BUDGET));
      }
    }
    row("guard overhead", "true", total(wall, "true"), { flock, deno: emptyTrue });
    row("guard overhead", "deno run empty.ts; true", total(wall, "empty+true"), {
      flock,
      deno: emptyTrue,
    });
    if (withFlock) {
      row("guard overhead", "flock f true", total(wall, "flock"), { flock, deno: emptyTrue });
    }
    row("guard overhead", "lokt guard x -- true", total(wall, "guard"), {
      flock,
      deno: emptyTrue,
    });
    row("guard overhead", DENO_FLOCK_ROW, total(wall, "deno-flock"), { flock, deno: emptyTrue });
    if (release !== undefined) {
      row("guard overhead", "lokt guard x -- true (release bundle)", total(wall, "r-guard"), {
        flock,
        deno: emptyTrue,
      });
    }

    const guardOver = median(total(wall, "guard")) - trueMs;
    const floorWall = median(total(wall, "deno-flock"));
    const floorCpu = median(total(cpu, "deno-flock"));
    const overFloor = (key: string) =>
      `${ratio(median(total(wall, key)), floorWall)} wall, ` +
      `${ratio(median(total(cpu, key)), floorCpu)} CPU`;
    const notes = [
      `start-up: ${sizes.rounds} interleaved rounds after ${sizes.warmup} warm-up rounds; ` +
      "`deno run -A` with a warm cache. CPU is user + system time from bash's `times` " +
      "(getrusage of the finished command and the processes it waited for, 1 ms resolution), " +
      "measured in a second run of each case in the same round. lock + unlock together: " +
      `${ms(median(total(wall, "cycle")))} against ${ms(2 * empty)} for two empty runs.` +
      (release === undefined ? "" : ' "release bundle" rows run scripts/bundle.ts\'s ' +
        "bundle of the same sources, the form the release binaries are compiled from."),
      `guard overhead: the "vs empty deno" column compares with \`deno run empty.ts; true\`; ` +
      `lokt guard x -- true costs ${ms(guardOver)} more than \`true\` alone` +
      (flock === undefined ? "." : `, flock f true ${ms(flock - trueMs)} more.`),
      "the floor of a Deno guard: bench/deno_flock.ts takes the kernel lock of a file, runs the " +
      "command with Deno.Command, drops the lock and exits, with Deno's default flags (flock(1) " +
      "written in Deno, none of what lokt adds); it starts in " +
      `${ratio(floorWall, empty)} the empty script's wall time and ${ratio(floorCpu, emptyCpu)} ` +
      `its CPU time. lokt guard x -- true against that floor: ${overFloor("guard")}` +
      (release === undefined ? "." : `; from the release bundle, ${overFloor("r-guard")}.`),
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
