/**
 * The crash-consistency driver. Each case prepares a fresh lock root, runs one real lokt command
 * with `LOKT_HALT_AT` naming a halt point (or kills it after a random delay), checks that it died
 * of SIGKILL, checks the files it left with `invariants.ts`, then recovers the name the way a user
 * would (`lock`, `unlock --break-stale`, `unlock --force`, `unfreeze --force`) and checks again.
 *
 *   deno task crash                                  the full run: 5,000 kills
 *   LOKT_CRASH_KILLS=800 LOKT_CRASH_SEED=7 deno task crash
 *
 * `LOKT_CRASH_JOBS` sets how many cases run at once (default 8). Prints a table of halt points
 * (how often each was hit) and a summary; exits 1 if any case failed or any point was never hit.
 */

import { HALTING_MAIN, REPO, tempDir } from "../helpers/cli.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";
import {
  checkAfterKill,
  checkAfterRecovery,
  isAlive,
  mustBeStale,
  readRoot,
  type RootState,
} from "./invariants.ts";
import { Kit, type Prepared, RESCUER, type Scenario, SCENARIOS, VICTIM } from "./scenarios.ts";

const NAME = "job";
/** The rescuer's clock for `--break-stale`: far enough ahead that every test TTL has run out. */
const FUTURE_MS = 2 * 3_600_000;
/** A victim still running after this long is hung (generous: a busy machine is slow). */
const HANG_MS = 120_000;

/** How a case stops its victim. */
export type Stop =
  | { kind: "point"; point: string; n: number; planned: boolean }
  | { kind: "delay"; delayMs: number };

/** One case: a scenario and how its command is stopped. */
export interface CaseSpec {
  index: number;
  scenario: Scenario;
  stop: Stop;
}

/** What one case found. */
export interface CaseResult {
  spec: CaseSpec;
  /** The victim died of SIGKILL. */
  killed: boolean;
  /** The halt point it was told about killed it. */
  hit: boolean;
  /** A kill after a random delay that left every file as it was. */
  traceless: boolean;
  /** How long the victim ran, milliseconds. */
  victimMs: number;
  problems: string[];
  /** The root, kept when the case failed. */
  keptRoot?: string;
}

/** Options of one run. */
export interface CrashOptions {
  /** Stop once this many victims died of SIGKILL (and every planned point was tried). */
  kills: number;
  /**
   * Stop after this many cases, kills or not (default: four per kill), so that victims that no
   * longer reach their halt points end the run instead of prolonging it forever.
   */
  maxCases?: number;
  /** Cases at once. */
  concurrency: number;
  seed: number;
  /** Stop starting cases after this long, kills or not (default: no limit). */
  deadlineMs?: number;
  /** Share of cases killed after a random delay instead of at a halt point. */
  delayShare: number;
  /** Share of cases stopped at a point chosen at random among all points. */
  randomPointShare: number;
  log?: (line: string) => void;
}

/** The tally of a run. */
export interface CrashReport {
  results: CaseResult[];
  points: string[];
  scenarios: Scenario[];
  seed: number;
  elapsedMs: number;
  concurrency: number;
  /** Failures that are not about one case: points never hit, planned points never reached. */
  globalProblems: string[];
}

/** A small seeded generator (mulberry32): the same seed gives the same plan. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The halt points in `src/`, from the `haltPoint("...")` calls. Throws on a call whose name is
 * not a string literal: every point must be one the suite can name.
 */
export function sourcePoints(dir = `${REPO}/src`): string[] {
  const points = new Set<string>();
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) walk(full);
      if (!entry.isFile || !entry.name.endsWith(".ts") || full.endsWith("/testing/halt.ts")) {
        continue;
      }
      const text = Deno.readTextFileSync(full);
      // The first argument names the point; the second is the path the step acts on.
      for (const m of text.matchAll(/haltPoint\(([^,)]*)/g)) {
        const literal = m[1].trim().match(/^"([a-z0-9.-]+)"$/);
        if (!literal) throw new Error(`${full}: haltPoint needs a literal dotted name: ${m[0]}`);
        points.add(literal[1]);
      }
    }
  };
  walk(dir);
  return [...points].sort();
}

/** The commands the suite kills, all of which the CLI must offer. */
export const KILLED_COMMANDS: readonly string[] = ["lock", "unlock", "guard", "freeze", "unfreeze"];

/**
 * Fails unless the CLI offers every command the suite kills: a missing command is a broken CLI,
 * never a reason to leave scenarios out.
 */
export async function assertCommandsOffered(main = HALTING_MAIN): Promise<void> {
  const missing: string[] = [];
  await Promise.all(KILLED_COMMANDS.map(async (name) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...RUN_ARGS, main, name, "--help"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.code !== 0) missing.push(name);
  }));
  if (missing.length > 0) {
    throw new Error(
      `the CLI has no ${missing.sort().join(", ")}`,
    );
  }
}

/** Fails unless the CLI at `main` honours LOKT_HALT_AT (the tests' entry point does). */
export async function assertHookWorks(main = HALTING_MAIN): Promise<void> {
  using dir = tempDir("lokt-crash-");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, main, "lock", NAME],
    env: { LOKT_ROOT: dir.path, LOKT_NO_DETECT: "1", LOKT_HALT_AT: "store.publish.after-link" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.signal !== "SIGKILL") {
    throw new Error(`${main} ignores LOKT_HALT_AT`);
  }
}

function parseStop(entry: string): { point: string; n: number } {
  const [point, n] = entry.split(":");
  return { point, n: n === undefined ? 1 : Number(n) };
}

interface Victim {
  pid: number;
  signal: Deno.Signal | null;
  code: number;
  stderr: string;
  hung: boolean;
  ms: number;
}

async function runVictim(
  kit: Kit,
  prepared: Prepared,
  stop: Stop,
  main: string,
): Promise<Victim> {
  const haltAt = stop.kind === "point" ? { LOKT_HALT_AT: `${stop.point}:${stop.n}` } : undefined;
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, main, ...prepared.argv],
    env: kit.env(VICTIM, { ...prepared.env, ...haltAt }),
    clearEnv: true,
    cwd: kit.root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const started = performance.now();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // it has exited already
    }
  };
  let hung = false;
  const hang = setTimeout(() => {
    // A stalled event loop can run this timer after the victim ended: ask the kernel first.
    if (!isAlive(child.pid)) return;
    hung = true;
    kill();
  }, HANG_MS);
  const delay = stop.kind === "delay" ? setTimeout(kill, stop.delayMs) : undefined;
  let exited = false;
  const during = prepared.during?.(() => exited);
  const out = await child.output();
  exited = true;
  await during;
  clearTimeout(hang);
  clearTimeout(delay);
  return {
    pid: child.pid,
    signal: out.signal,
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    hung,
    ms: performance.now() - started,
  };
}

function sameState(a: RootState, b: RootState): boolean {
  const text = (s: RootState) =>
    JSON.stringify([
      [...s.locks].map(([k, v]) => [k, v.text]),
      [...s.freezes].map(([k, v]) => [k, v.text]),
      [...s.fences],
      s.floor,
      [...s.tickets],
      s.tmp,
      s.audit.map((f) => f.lines),
    ]);
  return text(a) === text(b);
}

/** Readers see exactly the complete records on disk and nothing from `tmp/`. */
async function readersProblems(kit: Kit, env: Record<string, string>, state: RootState) {
  const status = await kit.lokt(RESCUER, ["status", "--json"], { env });
  if (status.code !== 0) return [`status exited ${status.code}: ${status.stderr}`];
  const listing = JSON.parse(status.stdout);
  const names = (list: { name: string }[]) => list.map((e) => e.name).sort().join(",");
  const problems: string[] = [];
  if (names(listing.locks) !== [...state.locks.keys()].sort().join(",")) {
    problems.push(`status lists locks ${names(listing.locks)}`);
  }
  if (names(listing.freezes) !== [...state.freezes.keys()].sort().join(",")) {
    problems.push(`status lists freezes ${names(listing.freezes)}`);
  }
  if (listing.unreadable.length > 0) {
    problems.push(`status finds unreadable files: ${JSON.stringify(listing.unreadable)}`);
  }
  return problems;
}

/**
 * Clears the name as a user would and says what went wrong: `lock` succeeds, or is refused by a
 * freeze that `unfreeze --force` lifts, or by a lock that `--break-stale` removes when every
 * process it names is gone or its TTL ran out (and only then), else `--force`; then `lock`
 * succeeds and `unlock` frees the name.
 */
async function recover(kit: Kit, env: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  const lock = () => kit.lokt(RESCUER, ["lock", NAME], { env });
  let taken = await lock();
  if (taken.code === 2) {
    const state = readRoot(kit.root);
    if (state.freezes.has(NAME)) problems.push(...await unfreezeForce(kit, env));
    const record = state.locks.get(NAME);
    if (record !== undefined) {
      const stale = mustBeStale(record, Date.now() + FUTURE_MS);
      const broke = await kit.lokt(RESCUER, ["unlock", NAME, "--break-stale"], {
        env,
        offsetMs: FUTURE_MS,
      });
      if (stale === true && broke.code !== 0) {
        problems.push(`--break-stale refused a stale lock (exit ${broke.code}): ${broke.stderr}`);
      }
      if (stale === false && broke.code === 0) problems.push("--break-stale broke a live lock");
      if (broke.code !== 0) {
        const forced = await kit.lokt(RESCUER, ["unlock", NAME, "--force"], { env });
        if (forced.code !== 0) {
          problems.push(`--force failed (exit ${forced.code}): ${forced.stderr}`);
        }
      }
    }
    taken = await lock();
  }
  if (taken.code !== 0) {
    problems.push(`lock after clearing exited ${taken.code}: ${taken.stderr}`);
    return problems;
  }
  const freed = await kit.lokt(RESCUER, ["unlock", NAME], { env });
  if (freed.code !== 0) problems.push(`unlock exited ${freed.code}: ${freed.stderr}`);
  // The rescuer's take cleared what the killed victim left in tmp/ (its writer is gone).
  const litter = readRoot(kit.root).tmp;
  if (litter.length > 0) problems.push(`tmp/ still holds ${litter.join(", ")} after recovery`);
  return problems;
}

async function unfreezeForce(kit: Kit, env: Record<string, string>): Promise<string[]> {
  const out = await kit.lokt(RESCUER, ["unfreeze", NAME, "--force"], { env });
  return out.code === 0 ? [] : [`unfreeze --force exited ${out.code}: ${out.stderr}`];
}

/** Runs one case in a fresh root. */
export async function runCase(
  spec: CaseSpec,
  seed: number,
  main = HALTING_MAIN,
): Promise<CaseResult> {
  const path = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-crash-" }));
  // Each case draws from its own generator, so lanes finishing in any order do not change it.
  const kit = new Kit(path, NAME, seededRandom(seed * 7919 + spec.index));
  const { stop } = spec;
  const problems: string[] = [];
  let killed = false;
  let hit = false;
  let traceless = false;
  let victimMs = 0;
  try {
    const prepared = await spec.scenario.prepare(kit);
    const env = prepared.env ?? {};
    const before = readRoot(path);
    const victim = await runVictim(kit, prepared, stop, main);
    killed = victim.signal === "SIGKILL";
    victimMs = victim.ms;
    if (victim.hung) problems.push(`the command hung: ${victim.stderr}`);
    if (stop.kind === "point") {
      const said = victim.stderr.includes(`lokt: halted at ${stop.point}\n`);
      hit = killed && said;
      if (killed !== said) problems.push(`killed=${killed} but halted=${said}: ${victim.stderr}`);
      if (!killed && stop.planned) problems.push(`never reached ${stop.point}:${stop.n}`);
    }
    if (!killed && victim.code !== prepared.exitCode) {
      problems.push(`exited ${victim.code}, not ${prepared.exitCode}: ${victim.stderr}`);
    }
    const after = readRoot(path);
    traceless = killed && stop.kind === "delay" && sameState(before, after);
    const allowed = { ...prepared.allowed, name: NAME, agent: VICTIM };
    const writers = prepared.during ? [victim.pid, Deno.pid] : [victim.pid];
    problems.push(...checkAfterKill(before, after, allowed, writers));
    problems.push(...await readersProblems(kit, env, after));
    problems.push(...await recover(kit, env));
    problems.push(...checkAfterRecovery(before, readRoot(path), NAME));
  } catch (error) {
    problems.push(`the case threw: ${(error as Error).stack ?? error}`);
  }
  const keep = problems.length > 0;
  if (!keep) Deno.removeSync(path, { recursive: true });
  return { spec, killed, hit, traceless, victimMs, problems, keptRoot: keep ? path : undefined };
}

/**
 * Yields cases: every planned point of every scenario once, then a seeded random mix. A random
 * delay is drawn from zero to the longest run of that scenario's command seen lately, so that
 * delays cover the whole run, start-up included.
 */
function* plan(
  scenarios: Scenario[],
  points: string[],
  options: CrashOptions,
  random: () => number,
  runtimeMs: (scenario: Scenario) => number,
): Generator<CaseSpec> {
  const planned = scenarios.flatMap((scenario) =>
    scenario.points.map((entry) => ({ scenario, ...parseStop(entry) }))
  );
  let index = 0;
  for (const p of planned) {
    yield { index: index++, scenario: p.scenario, stop: { kind: "point", ...p, planned: true } };
  }
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  for (;;) {
    const r = random();
    if (r < options.delayShare) {
      const scenario = pick(scenarios);
      const delayMs = Math.round(random() * runtimeMs(scenario));
      yield { index: index++, scenario, stop: { kind: "delay", delayMs } };
    } else if (r < options.delayShare + options.randomPointShare) {
      const stop = { kind: "point" as const, point: pick(points), n: 1 + Math.floor(random() * 2) };
      yield { index: index++, scenario: pick(scenarios), stop: { ...stop, planned: false } };
    } else {
      const p = pick(planned);
      yield { index: index++, scenario: p.scenario, stop: { kind: "point", ...p, planned: true } };
    }
  }
}

/** Runs cases until enough kills (or too many cases, or the deadline), `concurrency` at a time. */
export async function runCrashSuite(options: CrashOptions): Promise<CrashReport> {
  const log = options.log ?? (() => {});
  if (Deno.env.get("LOKT_HALT_AT")) throw new Error("unset LOKT_HALT_AT before running the suite");
  await assertHookWorks();
  await assertCommandsOffered();
  // The PostgreSQL engine's points are its own crash test's (postgres_test.ts).
  const points = sourcePoints().filter((p) => !p.startsWith("postgres."));
  const scenarios = SCENARIOS;
  const random = seededRandom(options.seed);
  const planned = scenarios.reduce((n, s) => n + s.points.length, 0);
  const recent = new Map<Scenario, number[]>();
  const runtimeMs = (s: Scenario) => Math.max(100, ...(recent.get(s) ?? [400]));
  const cases = plan(scenarios, points, options, random, runtimeMs);
  const started = performance.now();
  const results: CaseResult[] = [];
  let kills = 0;
  const maxCases = Math.max(planned, options.maxCases ?? 4 * options.kills);
  let startedCases = 0;
  const done = () =>
    (kills >= options.kills && results.length >= planned) || startedCases >= maxCases ||
    performance.now() - started > (options.deadlineMs ?? Infinity);
  const lane = async () => {
    while (!done()) {
      startedCases++;
      const spec = cases.next().value as CaseSpec;
      const result = await runCase(spec, options.seed);
      results.push(result);
      if (result.spec.stop.kind === "point") {
        recent.set(
          spec.scenario,
          [...(recent.get(spec.scenario) ?? []), result.victimMs].slice(-10),
        );
      }
      if (result.killed) kills++;
      if (result.problems.length > 0) log(`case ${spec.index} failed: ${describe(result)}`);
      if (results.length % 250 === 0) log(`${results.length} cases, ${kills} kills`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  results.sort((a, b) => a.spec.index - b.spec.index);

  const globalProblems: string[] = [];
  const hits = new Set(
    results.filter((r) => r.hit).map((r) => (r.spec.stop as { point: string }).point),
  );
  for (const point of points) {
    if (!hits.has(point)) globalProblems.push(`halt point ${point} was never hit`);
  }
  for (const scenario of scenarios) {
    for (const entry of scenario.points) {
      const { point } = parseStop(entry);
      // A rehearsal reaches the points of the real steps under the prefix `rehearsal.`.
      const base = point.replace(/^rehearsal\./, "");
      if (!points.includes(base)) {
        globalProblems.push(`scenario ${scenario.id} names ${point}, which is not in src/`);
      } else if (base !== point && !hits.has(point)) {
        globalProblems.push(`halt point ${point} was never hit`);
      }
    }
  }
  return {
    results,
    points,
    scenarios,
    seed: options.seed,
    elapsedMs: performance.now() - started,
    concurrency: options.concurrency,
    globalProblems,
  };
}

/** One line about a case, for failure listings. */
export function describe(result: CaseResult): string {
  const { spec } = result;
  const stop = spec.stop.kind === "point"
    ? `at ${spec.stop.point}:${spec.stop.n}`
    : `after ${spec.stop.delayMs} ms`;
  const where = result.keptRoot ? ` (root kept at ${result.keptRoot})` : "";
  return `${spec.scenario.id} killed ${stop}${where}:\n    ${result.problems.join("\n    ")}`;
}

/** The per-point table and the summary, as printed text. */
export function formatReport(report: CrashReport): string {
  const { results } = report;
  const rows: string[][] = [["halt point", "hits", "planned", "random", "scenarios"]];
  for (const point of report.points) {
    const hits = results.filter((r) =>
      r.hit && r.spec.stop.kind === "point" && r.spec.stop.point === point
    );
    const planned = hits.filter((r) => r.spec.stop.kind === "point" && r.spec.stop.planned);
    const scenarios = [...new Set(hits.map((r) => r.spec.scenario.id))].sort().join(", ");
    rows.push([
      point,
      String(hits.length),
      String(planned.length),
      String(hits.length - planned.length),
      scenarios,
    ]);
  }
  const delay = results.filter((r) => r.spec.stop.kind === "delay");
  const delayKills = delay.filter((r) => r.killed);
  const traceless = delayKills.filter((r) => r.traceless);
  const pointKills = results.filter((r) => r.hit).length;
  const randomTries = results.filter((r) => r.spec.stop.kind === "point" && !r.spec.stop.planned);
  const failed = results.filter((r) => r.problems.length > 0);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ").trimEnd();
  const scenarioRows = report.scenarios.map((s) => {
    const mine = results.filter((r) => r.spec.scenario === s);
    const k = mine.filter((r) => r.killed).length;
    return `  ${s.id.padEnd(14)} ${String(mine.length).padStart(5)} cases ${
      String(k).padStart(5)
    } kills  ${s.summary}`;
  });
  const pct = (a: number, b: number) => (b === 0 ? "0" : ((100 * a) / b).toFixed(0));
  const text = [
    line(rows[0]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.slice(1).map(line),
    "",
    "scenarios:",
    ...scenarioRows,
    "",
    `kills: ${pointKills + delayKills.length} (${pointKills} at halt points, ` +
    `${delayKills.length} after random delays)`,
    `random delays: ${delay.length} cases, ${delayKills.length} killed before exit, ` +
    `${traceless.length} of those (${pct(traceless.length, delayKills.length)}%) ` +
    "left every file untouched",
    `random points: ${randomTries.length} tries, ` +
    `${randomTries.filter((r) => r.hit).length} on the command's path`,
    `cases: ${results.length}, failed: ${failed.length}; ` +
    `${report.points.length} halt points, ${report.globalProblems.length} global problems`,
    `time: ${(report.elapsedMs / 1000).toFixed(1)} s, ${report.concurrency} at once, ` +
    `seed ${report.seed}`,
  ];
  for (const problem of report.globalProblems) text.push(`FAIL: ${problem}`);
  for (const r of failed.slice(0, 20)) text.push(`FAIL: ${describe(r)}`);
  return text.join("\n") + "\n";
}

/** True when the run found nothing wrong. */
export function passed(report: CrashReport): boolean {
  return report.globalProblems.length === 0 && report.results.every((r) => r.problems.length === 0);
}

function envInt(name: string, fallback: number): number {
  const value = Number(Deno.env.get(name));
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

if (import.meta.main) {
  const report = await runCrashSuite({
    kills: envInt("LOKT_CRASH_KILLS", 5000),
    concurrency: envInt("LOKT_CRASH_JOBS", 8),
    seed: envInt("LOKT_CRASH_SEED", Math.floor(Math.random() * 1_000_000)),
    deadlineMs: envInt("LOKT_CRASH_DEADLINE_S", 3600) * 1000,
    delayShare: 0.15,
    randomPointShare: 0.15,
    log: (line) => console.error(line),
  });
  console.log(formatReport(report));
  Deno.exit(passed(report) ? 0 : 1);
}
