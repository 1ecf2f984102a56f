/**
 * Checks the protocol's Promela models (`model/lokt.pml`, and `model/slots.pml` for the slots of a
 * counting lock) with Spin: every property must hold on
 * the model of the code, and every variant with a safeguard removed must produce a
 * counterexample (a model that cannot fail proves nothing). docs/protocol.md, "The model",
 * explains the model, the properties and the figures.
 *
 *   deno task model               the full run: larger configurations, several minutes
 *   deno task model --quick       the CI-sized run (under two minutes on two CPUs)
 *   deno task model --jobs 1      one verifier at a time (default: two)
 *   deno task model --keep        keep every verifier and print how to replay each counterexample
 *
 * Needs `spin` and `gcc` (Spin preprocesses the model with gcc, and the verifier it generates is
 * C); `.ci/run` installs both where it can. Exits 1 when a property fails, when a variant finds
 * no counterexample, or when a search is cut short (memory, depth).
 */

/** The properties: the model's `ltl` blocks, and `ends` (no invalid end state, no claim). */
export type Property =
  | "mutex"
  | "fence"
  | "fifo"
  | "whole"
  | "inside"
  | "live"
  | "ends"
  | "slots";

/** One verification: a property on one configuration of the model. */
export interface Check {
  /** Row label: the property for the model of the code, else the variant's switch. */
  name: string;
  property: Property;
  /** `property`: the code, must hold; `control`: a safeguard removed, must fail; `code`: the
   * code as it is where the property does not hold (docs/protocol.md says why), must fail. */
  kind: "property" | "control" | "code";
  /** Which actors and bounds (a key of {@link CONFIGS}). */
  config: string;
  /** The variant's switch, if any. */
  variant?: string;
}

/** A configuration: the -D switches that pick the actors and bounds, and the search sizes. */
export interface Config {
  defines: string[];
  /** What the configuration runs, for the table's legend. */
  about: string;
  /** log2 of the hash table's slots (pan -w). */
  hashBits: number;
  /** The model file, when not `lokt.pml` (the plain lock's). */
  model?: string;
}

export const CONFIGS: Record<string, Config> = {
  everyone: {
    defines: [],
    about: "plain holder, guard and command, breaker, 1 waiter; 1 kill",
    hashBits: 21,
  },
  queue: {
    defines: ["-DNW=2", "-DHAS_GUARD=0", "-DHAS_BREAKER=0"],
    about: "plain holder, 2 waiters; 1 kill",
    hashBits: 20,
  },
  live: {
    defines: ["-DLIVENESS", "-DHAS_BREAKER=0"],
    about: "plain holder, guard and command, 1 waiter, then a rescuer; 1 kill",
    hashBits: 20,
  },
  links: {
    defines: ["-DINTRUDER", "-DHAS_GUARD=0", "-DHAS_BREAKER=0"],
    about: "plain holder, 1 waiter, links planted; 1 kill",
    hashBits: 18,
  },
  "everyone-2kills": {
    defines: ["-DMAXKILLS=2"],
    about: "plain holder, guard and command, breaker, 1 waiter; 2 kills",
    hashBits: 22,
  },
  "everyone-2waiters": {
    defines: ["-DNW=2"],
    about: "plain holder, guard and command, breaker, 2 waiters; 1 kill",
    hashBits: 26,
  },
  "queue-3waiters": {
    defines: ["-DNW=3", "-DHAS_GUARD=0", "-DHAS_BREAKER=0"],
    about: "plain holder, 3 waiters; 1 kill",
    hashBits: 25,
  },
  "live-2kills": {
    defines: ["-DLIVENESS", "-DMAXKILLS=2"],
    about: "plain holder, guard and command, breaker, 1 waiter, then a rescuer; 2 kills",
    hashBits: 22,
  },
  "live-2waiters": {
    defines: ["-DLIVENESS", "-DNW=2", "-DHAS_BREAKER=0"],
    about: "plain holder, guard and command, 2 waiters, then a rescuer; 1 kill",
    hashBits: 24,
  },
  slots: {
    defines: [],
    about: "slots.pml: 2 slots, 3 processes taking, holding and releasing twice; 1 kill",
    hashBits: 20,
    model: "slots.pml",
  },
  "slots-2kills": {
    defines: ["-DMAXKILLS=2", "-DROUNDS=3"],
    about: "slots.pml: 2 slots, 3 processes taking, holding and releasing three times; 2 kills",
    hashBits: 24,
    model: "slots.pml",
  },
  "links-2waiters": {
    defines: ["-DINTRUDER", "-DNW=2", "-DHAS_GUARD=0", "-DHAS_BREAKER=0"],
    about: "plain holder, 2 waiters, links planted; 1 kill",
    hashBits: 23,
  },
};

const SAFETY: Property[] = ["mutex", "fence", "fifo", "whole", "ends"];

/** Variants, checked on small configurations in both runs: each must produce a counterexample. */
const VARIANTS: Check[] = [
  { name: "NO_MUTEX_TAKEOVER", property: "mutex", kind: "control", config: "everyone" },
  { name: "RELEASE_NO_COMPARE", property: "mutex", kind: "control", config: "everyone" },
  { name: "PUBLISH_CREATE_WRITE", property: "whole", kind: "control", config: "everyone" },
  { name: "NO_FENCE_COUNTER", property: "fence", kind: "control", config: "everyone" },
  { name: "NO_QUEUE_CHECK", property: "fifo", kind: "control", config: "queue" },
  { name: "TICKET_FIRST_FREE", property: "fifo", kind: "control", config: "queue-3waiters" },
  { name: "NO_PRUNE_DEAD_TICKETS", property: "live", kind: "control", config: "live" },
  { name: "NO_FENCE_LINK_CHECK", property: "inside", kind: "control", config: "links" },
  { name: "KILL_KEEPS_FLOCK", property: "ends", kind: "control", config: "everyone" },
  { name: "NO_CARRIER", property: "mutex", kind: "code", config: "everyone" },
  { name: "GAP_FENCE_RACE", property: "inside", kind: "control", config: "links" },
  { name: "GAP_QUEUE_LINK", property: "inside", kind: "control", config: "links" },
  { name: "SLOTS_UNLOCKED", property: "slots", kind: "control", config: "slots" },
].map((v) => ({ ...v, variant: v.name }) as Check);

function properties(config: string, props: Property[]): Check[] {
  return props.map((property) => ({ name: property, property, kind: "property", config }));
}

/** What a run checks: `quick` is the CI-sized plan. */
export function plan(quick: boolean): Check[] {
  const own = quick
    ? [
      ...properties("everyone", SAFETY),
      ...properties("queue", ["fifo", "mutex"]),
      ...properties("live", ["live"]),
      ...properties("links", ["inside"]),
      ...properties("slots", ["slots", "fence"]),
    ]
    : [
      ...properties("everyone-2kills", SAFETY),
      ...properties("everyone-2waiters", SAFETY),
      ...properties("queue-3waiters", ["fifo"]),
      ...properties("live-2kills", ["live"]),
      ...properties("live-2waiters", ["live"]),
      ...properties("links-2waiters", ["inside"]),
      ...properties("slots-2kills", ["slots", "fence"]),
    ];
  return [...own, ...VARIANTS];
}

/** What one pan run reported. */
export type PanResult =
  | { kind: "complete"; errors: number; states: number; seconds: number; violation?: string }
  /** Cut short (memory or depth): proves nothing either way. */
  | { kind: "incomplete"; reason: string; states: number; seconds: number };

/** Reads pan's report. Pure. */
export function parsePan(text: string): PanResult {
  const states = Number(text.match(/^\s*(\d+) states, stored/m)?.[1] ?? NaN);
  const seconds = Number(text.match(/^pan: elapsed time ([\d.e+]+) seconds/m)?.[1] ?? 0);
  const cut = text.match(
    /(reached -DMEMLIM bound|out of memory|max search depth too small|stopped after \d+ s)/,
  );
  if (cut) return { kind: "incomplete", reason: cut[1], states: states || 0, seconds };
  const errors = text.match(/errors: (\d+)/);
  if (!errors || Number.isNaN(states)) {
    return { kind: "incomplete", reason: "no report from pan", states: 0, seconds };
  }
  const violation = text.match(/^pan:\d+: (.*?)(?: \(at depth \d+\))?$/m)?.[1];
  return { kind: "complete", errors: Number(errors[1]), states, seconds, violation };
}

/** A check's result: `ok` when it showed what it must show. */
export interface Outcome {
  check: Check;
  result: PanResult;
  ok: boolean;
  /** The -D switches the model was generated with. */
  defines: string[];
  /** Where the verifier and any trail are kept: when not ok, or when asked to keep them. */
  kept?: string;
}

/** Judges one result against what its check must show. Pure. */
export function judge(check: Check, result: PanResult): boolean {
  if (result.kind !== "complete") return false;
  if (check.kind === "property") return result.errors === 0;
  if (result.errors === 0) return false;
  // The counterexample must be to the property checked, not a failed assertion of the model.
  const v = result.violation ?? "";
  switch (check.property) {
    case "live":
      return /^acceptance cycle$/.test(v);
    case "ends":
      return /^invalid end state$/.test(v);
    default:
      return /^assertion violated {1,2}!\( !\(/.test(v);
  }
}

/** The tools missing on this machine (`spin`, `gcc`). */
export async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const [tool, args] of [["spin", ["-V"]], ["gcc", ["--version"]]] as const) {
    try {
      const out = await new Deno.Command(tool, { args: [...args], stdout: "null", stderr: "null" })
        .output();
      if (!out.success) missing.push(tool);
    } catch {
      missing.push(tool);
    }
  }
  return missing;
}

/** Options of {@link runChecks}. */
export interface RunOptions {
  /** CI bounds: a quick compile, a small memory limit, a short time limit. */
  quick: boolean;
  /** Verifiers run at once. */
  jobs?: number;
  /** Keep every verifier's directory (with the trails of counterexamples). */
  keep?: boolean;
  /** Called with each outcome as it comes. */
  onOutcome?: (outcome: Outcome) => void;
}

/** The model, as a path. */
export const MODEL = decodeURIComponent(new URL("../model/lokt.pml", import.meta.url).pathname);

/** The model file of a configuration, as a path. */
function modelOf(config: Config): string {
  return config.model === undefined ? MODEL : MODEL.replace(/lokt\.pml$/, config.model);
}

/** Longest one pan run may take before it is stopped (and counts as cut short). */
const PAN_LIMIT_MS = { quick: 120_000, full: 900_000 };

async function run(cmd: string, args: string[], cwd: string, limitMs = 600_000): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(limitMs),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.signal !== null) return `${text}\nstopped after ${limitMs / 1000} s`;
  if (!out.success && cmd !== "./pan") throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

/** One verifier: the model generated with one set of switches, compiled, then run per check. */
async function verify(
  checks: Check[],
  dir: string,
  quick: boolean,
  onOutcome: (o: Outcome) => void,
): Promise<void> {
  const first = checks[0];
  const config = CONFIGS[first.config];
  const liveness = first.property === "live";
  const claimless = first.property === "ends";
  const defines = [...config.defines, ...(first.variant ? [`-D${first.variant}`] : [])];
  await run("spin", ["-a", ...defines, modelOf(config)], dir);
  const memory = quick ? "-DMEMLIM=1024" : "-DMEMLIM=4096";
  const small = quick || first.kind !== "property";
  await run("gcc", [
    small ? "-O0" : "-O2",
    "-w",
    memory,
    ...(liveness ? ["-DNFAIR=3"] : ["-DSAFETY"]),
    ...(claimless ? ["-DNOCLAIM"] : []),
    ...(small ? [] : ["-DCOLLAPSE"]),
    "-o",
    "pan",
    "pan.c",
  ], dir);
  for (const check of checks) {
    const args = ["-m1000000", `-w${small ? Math.min(config.hashBits, 21) : config.hashBits}`];
    if (liveness) args.push("-a", "-f");
    if (!claimless) args.push("-N", check.property);
    const limit = quick ? PAN_LIMIT_MS.quick : PAN_LIMIT_MS.full;
    const result = parsePan(await run("./pan", args, dir, limit));
    onOutcome({ check, result, ok: judge(check, result), defines, kept: dir });
  }
}

/** Runs `checks`, each verifier once per configuration and variant, `jobs` at a time. */
export async function runChecks(checks: Check[], options: RunOptions): Promise<Outcome[]> {
  const groups = new Map<string, Check[]>();
  for (const check of checks) {
    const build = check.property === "live" || check.property === "ends" ? check.property : "";
    const key = `${check.config}/${check.variant ?? ""}/${build}`;
    groups.set(key, [...(groups.get(key) ?? []), check]);
  }
  const root = await Deno.makeTempDir({ prefix: "lokt-model-" });
  const outcomes: Outcome[] = [];
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      const dir = await Deno.makeTempDir({ dir: root });
      await verify(group, dir, options.quick, (outcome) => {
        if (outcome.ok && !options.keep) outcome.kept = undefined;
        outcomes.push(outcome);
        options.onOutcome?.(outcome);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 2) }, worker));
  const kept = new Set(outcomes.flatMap((o) => o.kept ? [o.kept] : []));
  for (const entry of Deno.readDirSync(root)) {
    const path = `${root}/${entry.name}`;
    if (!kept.has(path)) Deno.removeSync(path, { recursive: true });
  }
  if (kept.size === 0) Deno.removeSync(root);
  const order = new Map(checks.map((c, i) => [c, i]));
  return outcomes.sort((a, b) => order.get(a.check)! - order.get(b.check)!);
}

const EXPECTED = { property: "holds", control: "counterexample", code: "counterexample" };

/** The results as a table, with a legend of the configurations. Pure. */
export function formatTable(outcomes: Outcome[]): string {
  const rows = outcomes.map(({ check, result, ok }) => [
    check.kind === "property" ? check.name : `${check.name} (${check.kind})`,
    check.property,
    check.config,
    EXPECTED[check.kind],
    result.kind === "incomplete"
      ? `cut short: ${result.reason}`
      : result.errors === 0
      ? "holds"
      : "counterexample",
    result.states.toLocaleString("en-US"),
    `${result.seconds.toFixed(1)} s`,
    ok ? "ok" : "FAILED",
  ]);
  const head = ["check", "property", "configuration", "expected", "result", "states", "time", "ok"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((cell, i) => i === 5 || i === 6 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))
      .join("  ").trimEnd();
  const configs = [...new Set(outcomes.map((o) => o.check.config))];
  return [
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    ...configs.map((c) => `${c}: ${CONFIGS[c].about}`),
  ].join("\n");
}

/** The command that replays an outcome's counterexample, step by step. Pure. */
export function replayCommand(outcome: Outcome): string {
  const model = modelOf(CONFIGS[outcome.check.config]);
  return `cd ${outcome.kept} && spin -t -k ${model.slice(model.lastIndexOf("/") + 1)}.trail -p -g ${
    outcome.defines.join(" ")
  } ${model}`
    .replace(/ {2,}/g, " ");
}

async function main(args: string[]): Promise<number> {
  const quick = args.includes("--quick");
  const keep = args.includes("--keep");
  const jobsAt = args.indexOf("--jobs");
  const jobs = jobsAt >= 0 ? Number(args[jobsAt + 1]) : 2;
  if (!Number.isSafeInteger(jobs) || jobs < 1) {
    console.error("usage: deno task model [--quick] [--keep] [--jobs N]");
    return 64;
  }
  const missing = await missingTools();
  if (missing.length > 0) {
    console.error(`missing ${missing.join(" and ")}: .ci/run installs spin and gcc (apt-get)`);
    return 1;
  }
  const started = performance.now();
  const outcomes = await runChecks(plan(quick), {
    quick,
    jobs,
    keep,
    onOutcome: (o) =>
      console.error(`${o.ok ? "ok" : "FAILED"}  ${o.check.name} on ${o.check.config}`),
  });
  console.log(formatTable(outcomes));
  const states = outcomes.reduce((sum, o) => sum + o.result.states, 0);
  const cpu = outcomes.reduce((sum, o) => sum + o.result.seconds, 0);
  const wall = (performance.now() - started) / 1000;
  console.log(
    `\n${outcomes.length} checks, ${states.toLocaleString("en-US")} states stored, ` +
      `${cpu.toFixed(1)} s in the verifiers, ${wall.toFixed(0)} s in all (${jobs} at a time)`,
  );
  for (const o of outcomes) {
    const counterexample = o.result.kind === "complete" && o.result.errors > 0;
    if (o.kept && counterexample) console.log(`${o.check.name}: ${replayCommand(o)}`);
    else if (o.kept && !o.ok) console.log(`${o.check.name}: kept in ${o.kept}`);
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
