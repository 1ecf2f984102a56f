/**
 * Contention: many processes after one name at once.
 *
 * Guarded sections: W workers each run S guarded sections of M ms one after another (`lokt guard
 * x --wait -- sleep`, against `flock f sleep`, and against flock(1) written in Deno,
 * `bench/deno_flock.ts f sleep`, the floor of any Deno guard): the wall time of the whole batch.
 * On a machine with few CPUs that is set by the CPU each guard burns as much as by its hand-offs.
 *
 * Throughput: P processes each take and release the lock K times; acquisitions per second.
 * From the command line (`lokt guard x --wait -- true` in a shell loop, against `flock f true` and
 * against `deno run empty.ts`, which needs no lock at all and bounds any Deno CLI), and in-process
 * (the lokt library against kernel flock from Deno), where start-up is left out.
 *
 * Fairness: P processes each loop K times: stamp `req`, wait, stamp `acq`, hold H ms, stamp
 * `rel`, release. For each acquisition, the ideal wait is the number of processes ahead of it
 * when it asked (the holder and the earlier waiters) times the mean hold; the figure is the
 * longest wait over its ideal, and how many acquisitions were overtaken by a later request.
 * Each process's first acquisition is left out: all processes start together, so the order of
 * their first requests is a race. The same runs give the hand-off gap between processes that
 * have acquired before (their code is warm), beside the cold hand-offs of `handoff.ts`.
 *
 *   deno run -A bench/contention.ts [--quick]
 */

import { median, quantile } from "./stats.ts";
import { type Hold, holdsOf, spawnReporter } from "./procs.ts";
import {
  bashHasEpochTime,
  denoFlock,
  denoRun,
  emptyDeno,
  hasCommand,
  lokt,
  loktEnv,
  makeDir,
  removeDir,
  shellLine,
  WORKER,
} from "./setup.ts";
import { ms, ratio, type Row, type Section, verdict } from "./table.ts";

/** How much to measure. */
export interface ContentionSizes {
  rounds: number;
  processes: number;
  /** Iterations per process from the command line (each one a new lokt process). */
  cliLoops: number;
  /** Iterations per process in-process. */
  libLoops: number;
  /** Fairness: iterations per process and hold time. */
  fairLoops: number;
  fairHoldMs: number;
  /** Guarded sections: workers, sections per worker, and how long each section sleeps. */
  sectionWorkers: number;
  sections: number;
  sectionMs: number;
}

/** Full-size run. */
export const FULL: ContentionSizes = {
  rounds: 3,
  processes: 16,
  cliLoops: 8,
  libLoops: 40,
  fairLoops: 8,
  fairHoldMs: 10,
  sectionWorkers: 8,
  sections: 6,
  sectionMs: 10,
};
/** Smoke-test size. */
export const QUICK: ContentionSizes = {
  rounds: 1,
  processes: 2,
  cliLoops: 1,
  libLoops: 2,
  fairLoops: 2,
  fairHoldMs: 5,
  sectionWorkers: 2,
  sections: 1,
  sectionMs: 5,
};

/** The guarded sections' budget: the batch within 1.5x of flock(1)'s wall time. */
const SECTIONS_BUDGET = 1.5;

/** Runs `cmd` in P copies at once; returns the wall time from the first spawn to the last exit. */
async function wallOf(
  processes: number,
  cmd: string[],
  env: Record<string, string>,
): Promise<number> {
  const start = performance.now();
  const children = Array.from({ length: processes }, (_, i) =>
    new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      env: { ...env, LOKT_AGENT_ID: `bench-${i}` },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output());
  const outputs = await Promise.all(children);
  const elapsed = performance.now() - start;
  const failed = outputs.find((o) => !o.success);
  if (failed) {
    throw new Error(`\`${cmd.join(" ")}\` failed: ${new TextDecoder().decode(failed.stderr)}`);
  }
  return elapsed;
}

/** Runs reporter processes at once; returns every hold they reported. */
async function holdsFrom(
  processes: number,
  cmd: (i: number) => string[],
  env: Record<string, string>,
): Promise<Hold[]> {
  const reporters = Array.from(
    { length: processes },
    (_, i) => spawnReporter(i, cmd(i), { ...env, LOKT_AGENT_ID: `bench-${i}` }),
  );
  const codes = await Promise.all(reporters.map((r) => r.done));
  if (codes.some((c) => c !== 0)) throw new Error(`\`${cmd(0).join(" ")}\` exit codes ${codes}`);
  return holdsOf(reporters.flatMap((r) => r.stamps));
}

/** A shell loop running `cmd` `loops` times, stopping at the first failure. */
function loop(loops: number, cmd: string): string[] {
  return ["bash", "-c", `set -e; for i in $(seq ${loops}); do ${cmd}; done`];
}

/** Acquisitions per second over the span of the holds. */
function rateOf(holds: readonly Hold[]): number {
  const span = holds[holds.length - 1].rel - holds[0].acq;
  return holds.length / (span / 1000);
}

/** Holds that began before the previous one ended. */
function overlapsOf(holds: readonly Hold[]): number {
  return holds.filter((h, i) => i > 0 && h.acq < holds[i - 1].rel).length;
}

interface Fairness {
  /** Longest wait over its ideal (the processes ahead times the mean hold). */
  worst: number;
  /** Longest wait over the processes ahead times (mean hold + mean hand-off of the run). */
  worstQueued: number;
  /** The wait behind it, in ms. */
  worstWaitMs: number;
  /** Acquisitions overtaken by a later request. */
  overtaken: number;
  counted: number;
  /** Hand-off gaps to processes that had acquired before (code paths already run once). */
  warmGaps: number[];
}

/** Fairness figures of one run (see the module doc). */
export function fairnessOf(holds: readonly Hold[]): Fairness {
  const meanHold = holds.reduce((sum, h) => sum + (h.rel - h.acq), 0) / holds.length;
  const firsts = new Set<Hold>();
  const seen = new Set<number>();
  for (const h of holds) {
    if (!seen.has(h.proc)) firsts.add(h);
    seen.add(h.proc);
  }
  const warmGaps = holds.flatMap((h, i) =>
    i > 0 && !firsts.has(h) ? [h.acq - holds[i - 1].rel] : []
  );
  const meanGap = warmGaps.reduce((sum, g) => sum + g, 0) / Math.max(1, warmGaps.length);
  const perPlace = meanHold + meanGap;
  let worst = 0;
  let worstQueued = 0;
  let worstWaitMs = 0;
  let overtaken = 0;
  let counted = 0;
  for (const h of holds) {
    if (firsts.has(h) || h.req === undefined) continue;
    const req = h.req;
    const ahead = holds.filter((o) =>
      o !== h &&
      ((o.acq <= req && req < o.rel) || (o.req !== undefined && o.req < req && o.acq > req))
    ).length;
    const wait = h.acq - req;
    counted++;
    if (
      holds.some((o) => o.req !== undefined && o.req > req && o.acq < h.acq && !firsts.has(o))
    ) {
      overtaken++;
    }
    if (ahead === 0) continue;
    worstQueued = Math.max(worstQueued, wait / (ahead * perPlace));
    const over = wait / (ahead * meanHold);
    if (over > worst) {
      worst = over;
      worstWaitMs = wait;
    }
  }
  return { worst, worstQueued, worstWaitMs, overtaken, counted, warmGaps };
}

/** Runs the throughput and fairness benchmarks; returns their rows. */
export async function benchContention(sizes: ContentionSizes): Promise<Section> {
  const withFlock = hasCommand("flock", "--version");
  const withBashTime = withFlock && bashHasEpochTime();
  const P = sizes.processes;
  const cliRates = new Map<string, number[]>();
  const sectionWalls = new Map<string, number[]>();
  const libRates = new Map<string, number[]>();
  const fair = new Map<string, Fairness[]>();
  let overlaps = 0;
  const push = <T>(map: Map<string, T[]>, key: string, value: T) =>
    map.set(key, [...(map.get(key) ?? []), value]);

  const worker = (kind: string, target: string, loops: number, holdMs: number) => [
    ...denoRun(),
    WORKER,
    "--kind",
    kind,
    "--target",
    target,
    "--loops",
    String(loops),
    "--hold",
    String(holdMs),
  ];
  const stampedFlock = (file: string, holdMs: number) =>
    `echo req $EPOCHREALTIME; flock ${file} bash -c ` +
    `'echo acq $EPOCHREALTIME; sleep ${holdMs / 1000}; echo rel $EPOCHREALTIME'`;

  for (let r = 0; r < sizes.rounds; r++) {
    const dir = makeDir("contention");
    try {
      const root = `${dir}/root-${r}`;
      const env = loktEnv(root);
      const file = `${dir}/lockfile`;
      Deno.writeTextFileSync(file, "");
      const n = P * sizes.cliLoops;

      // Guarded sections, each worker's one after another.
      const sleep = ["sleep", String(sizes.sectionMs / 1000)];
      const W = sizes.sectionWorkers;
      const guarded = shellLine(lokt("guard", "x", "--wait", "--quiet", "--", ...sleep));
      push(sectionWalls, "guard", await wallOf(W, loop(sizes.sections, guarded), env));
      if (withFlock) {
        const flocked = shellLine(["flock", file, ...sleep]);
        push(sectionWalls, "flock", await wallOf(W, loop(sizes.sections, flocked), env));
      }
      const denoFlocked = shellLine(denoFlock(file, ...sleep));
      push(sectionWalls, "deno-flock", await wallOf(W, loop(sizes.sections, denoFlocked), env));

      // Throughput from the command line.
      const guard = shellLine(lokt("guard", "x", "--wait", "--quiet", "--", "true"));
      push(cliRates, "guard", n / (await wallOf(P, loop(sizes.cliLoops, guard), env) / 1000));
      if (withFlock) {
        const flock = shellLine(["flock", file, "true"]);
        push(cliRates, "flock", n / (await wallOf(P, loop(sizes.cliLoops, flock), env) / 1000));
      }
      const empty = shellLine(emptyDeno());
      push(cliRates, "empty", n / (await wallOf(P, loop(sizes.cliLoops, empty), env) / 1000));

      // Throughput in-process.
      const lib = await holdsFrom(P, () => worker("lokt", `${root}-lib`, sizes.libLoops, 0), env);
      overlaps += overlapsOf(lib);
      push(libRates, "lokt", rateOf(lib));
      const kern = await holdsFrom(P, () => worker("kernel", file, sizes.libLoops, 0), env);
      push(libRates, "kernel", rateOf(kern));

      // Fairness.
      const hold = sizes.fairHoldMs;
      const fl = await holdsFrom(
        P,
        () => worker("lokt", `${root}-fair`, sizes.fairLoops, hold),
        env,
      );
      overlaps += overlapsOf(fl);
      push(fair, "lokt", fairnessOf(fl));
      push(
        fair,
        "kernel",
        fairnessOf(await holdsFrom(P, () => worker("kernel", file, sizes.fairLoops, hold), env)),
      );
      if (withBashTime) {
        const cmd = loop(sizes.fairLoops, stampedFlock(file, hold));
        push(fair, "flock", fairnessOf(await holdsFrom(P, () => cmd, env)));
      }
    } finally {
      removeDir(dir);
    }
  }

  const rows: Row[] = [];
  const rate = (v: number) => `${v.toFixed(v < 100 ? 1 : 0)}/s`;
  const rateRow = (
    bench: string,
    subject: string,
    values: number[],
    flock?: number[],
    deno?: number[],
  ) =>
    rows.push({
      bench,
      subject,
      n: values.length,
      median: rate(median(values)),
      p99: "",
      // Throughput: higher is better, so the ratio reads "this many times the baseline's rate".
      vsFlock: flock ? ratio(median(values), median(flock)) : "",
      vsDeno: deno ? ratio(median(values), median(deno)) : "",
      budget: "",
    });
  const sectionBench =
    `${sizes.sectionWorkers} workers x ${sizes.sections} guarded ${sizes.sectionMs} ms sections`;
  const flockWall = withFlock ? median(sectionWalls.get("flock")!) : undefined;
  const sectionRow = (subject: string, key: string, budget: boolean) => {
    const walls = sectionWalls.get(key)!;
    const m = median(walls);
    rows.push({
      bench: sectionBench,
      subject,
      n: walls.length,
      median: ms(m),
      p99: ms(quantile(walls, 1)),
      vsFlock: ratio(m, flockWall),
      vsDeno: "",
      budget: budget && flockWall !== undefined
        ? verdict(`<= ${SECTIONS_BUDGET}x flock`, m <= SECTIONS_BUDGET * flockWall)
        : "",
    });
  };
  sectionRow("lokt guard x --wait -- sleep, wall", "guard", true);
  if (withFlock) sectionRow("flock f sleep, wall", "flock", false);
  sectionRow("flock in Deno f sleep, wall (a Deno guard's floor)", "deno-flock", false);

  const cliBench = `throughput, ${P} processes (CLI)`;
  rateRow(
    cliBench,
    "lokt guard x --wait -- true",
    cliRates.get("guard")!,
    cliRates.get("flock"),
    cliRates.get("empty"),
  );
  if (withFlock) {
    rateRow(
      cliBench,
      "flock f true",
      cliRates.get("flock")!,
      cliRates.get("flock"),
      cliRates.get("empty"),
    );
  }
  rateRow(
    cliBench,
    "deno run empty.ts (no lock)",
    cliRates.get("empty")!,
    cliRates.get("flock"),
    cliRates.get("empty"),
  );
  const libBench = `throughput, ${P} processes (in-process)`;
  rateRow(
    libBench,
    "lokt library acquire + release",
    libRates.get("lokt")!,
    libRates.get("kernel"),
  );
  rateRow(libBench, "kernel flock from Deno", libRates.get("kernel")!, libRates.get("kernel"));

  const fairBench = `fairness, ${P} processes, hold ${sizes.fairHoldMs} ms`;
  const fairRow = (subject: string, key: string) => {
    const runs = fair.get(key)!;
    const worst = runs.map((f) => f.worst);
    rows.push({
      bench: fairBench,
      subject: `${subject}: longest wait / ideal`,
      n: runs.length,
      median: `${median(worst).toFixed(2)}x`,
      p99: `${quantile(worst, 1).toFixed(2)}x`,
      vsFlock: "",
      vsDeno: "",
      budget: "",
    });
  };
  const warmBench = `hand-off, ${P} processes looping (warm)`;
  const warmRow = (subject: string, key: string, vs?: string) => {
    const gaps = fair.get(key)!.flatMap((f) => f.warmGaps);
    const base = vs === undefined ? undefined : median(fair.get(vs)!.flatMap((f) => f.warmGaps));
    rows.push({
      bench: warmBench,
      subject,
      n: gaps.length,
      median: ms(median(gaps)),
      p99: ms(quantile(gaps, 0.99)),
      vsFlock: ratio(median(gaps), base),
      vsDeno: "",
      budget: vs === undefined ? "" : verdict("median <= 5 ms", median(gaps) <= 5),
    });
  };
  warmRow("lokt, library waiters", "lokt", "kernel");
  if (withBashTime) warmRow("flock(1) -- bash, command to command", "flock");
  warmRow("kernel flock from Deno (floor)", "kernel");
  fairRow("lokt library", "lokt");
  if (withBashTime) fairRow("flock(1) -- bash", "flock");
  fairRow("kernel flock from Deno", "kernel");

  const notes = [
    `guarded sections: ${sizes.rounds} interleaved rounds; each of ${sizes.sectionWorkers} ` +
    `workers runs ${sizes.sections} sections in a shell loop; wall time from the first spawn ` +
    `to the last exit (p99 column: the slowest round).`,
    `throughput: ${sizes.rounds} interleaved rounds; CLI rows run ${sizes.cliLoops} commands per ` +
    `process in a shell loop (rate = commands / wall time); in-process rows take the lock ` +
    `${sizes.libLoops} times per process (rate over the span of the holds, start-up left out). ` +
    `Ratios are rates: above 1x is faster.`,
    `fairness: the ideal wait is the processes ahead times the mean hold; p99 column is the ` +
    `worst round. Counting each place in the queue as the mean hold plus the mean hand-off of ` +
    `its run instead, the longest waits are ` +
    [...fair].map(([k, runs]) => `${k} ${Math.max(...runs.map((f) => f.worstQueued)).toFixed(2)}x`)
      .join(", ") +
    `. Longest waits behind the worst ratios: ` +
    [...fair].map(([k, runs]) =>
      `${k} ${Math.max(...runs.map((f) => f.worstWaitMs)).toFixed(0)} ms`
    )
      .join(", ") +
    `. Acquisitions overtaken by a later request (approximate for lokt, whose request stamp ` +
    `comes one attempt before its ticket; the exact order test is "queue order"): ` +
    [...fair].map(([k, runs]) =>
      `${k} ${runs.reduce((s, f) => s + f.overtaken, 0)} of ${
        runs.reduce((s, f) => s + f.counted, 0)
      }`
    ).join(", ") + ".",
  ];
  if (overlaps > 0) notes.push(`contention: ${overlaps} OVERLAPPING lokt holds`);
  return { rows, notes };
}

if (import.meta.main) {
  const { renderTable } = await import("./table.ts");
  const section = await benchContention(Deno.args.includes("--quick") ? QUICK : FULL);
  console.log(renderTable(section.rows));
  for (const note of section.notes) console.log(`- ${note}`);
}
