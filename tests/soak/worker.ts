/**
 * One soak worker: a loop that picks an action at random (from its own seeded generator) and
 * carries it out with real `deno run -A main.ts ...` invocations, checking every exit code
 * against the set the command documents. Holders prove they are alone with a witness directory
 * per name (`<marks>/<name>.busy`), created by `mkdir`, which fails if it already exists.
 */

import { MAIN } from "../helpers/cli.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";
import type { Rng } from "../fuzz/prng.ts";

/** What a worker can do. */
export const ACTIONS = [
  "guard",
  "guard --wait",
  "lock",
  "lock --wait",
  "unlock",
  "unlock (not ours)",
  "unlock --break-stale",
  "status",
  "why",
] as const;

/** One of {@link ACTIONS}. */
export type Action = typeof ACTIONS[number];

/** How often each action is picked (unlock follows every plain lock that was acquired). */
const WEIGHTS: [Exclude<Action, "unlock">, number][] = [
  ["guard", 24],
  ["guard --wait", 14],
  ["lock", 14],
  ["lock --wait", 10],
  ["unlock (not ours)", 8],
  ["unlock --break-stale", 4],
  ["status", 13],
  ["why", 13],
];

/** What every worker shares: where things are, the clock it stops by, and the tallies. */
export interface SoakState {
  root: string;
  /** Witness directories and the journals the holders write. */
  marks: string;
  names: readonly string[];
  /** Epoch milliseconds at which workers stop starting new actions... */
  deadlineMs: number;
  /** ...unless a worker started fewer actions than this: then it goes on until it did. */
  minActionsPerWorker: number;
  /** Share of guards that get SIGKILLed after a random delay. */
  killShare: number;
  /** Negative control: hold the witness without any lock at all. */
  unlocked: boolean;
  /** The environment of an invocation by `agent`. */
  env(agent: string): Record<string, string>;
  actions: Record<string, number>;
  /** Exit codes (or signals) per action, as `"guard 0"`, `"guard SIGKILL"`. */
  exits: Record<string, number>;
  /** Guards SIGKILLed and the pids they had. */
  killedPids: Set<number>;
  /** Guards SIGKILLed while their command was inside the critical section. */
  killedInside: number;
  overlaps: string[];
  anomalies: string[];
  /** Processes still running, killed if the soak is torn down early. */
  running: Set<Deno.ChildProcess>;
}

/** A finished invocation. */
export interface Invocation {
  /** The command line, for messages. */
  args: string[];
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** True when this process was SIGKILLed on purpose. */
  killed: boolean;
}

/** An invocation taking longer than this is hung: it is killed and reported. */
export const HANG_MS = 60_000;

/** Lines that must never appear on lokt's stderr during a soak. */
const ALARMING = /this is a bug|Uncaught|panicked|^warning:|was lost while|^\s+at /m;

/**
 * The guarded command: enters the witness or reports an overlap, records the fence it was given,
 * says it is inside (`inside.<who>`, for a driver waiting to kill its guard then), holds for a
 * while, and leaves. Its output goes to /dev/null at once, so that a guard killed
 * under it does not leave its caller's pipes open until it ends.
 */
export const WITNESS_SCRIPT = `exec </dev/null >/dev/null 2>&1
name=$1 marks=$2 hold=$3 who=$4
if mkdir "$marks/$name.busy"; then
  echo "$name \${LOKT_FENCE:--} guard $who" >> "$marks/fences"
  : > "$marks/inside.$who"
  sleep "$hold"
  rmdir "$marks/$name.busy" || echo "$name rmdir-failed guard $who" >> "$marks/overlaps"
else
  echo "$name inside guard $who" >> "$marks/overlaps"
fi`;

const decoder = new TextDecoder();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * When to SIGKILL a process: after a delay, or as soon as the file `inside` exists (its guarded
 * command entered the critical section).
 */
export type KillPlan = { afterMs: number } | { inside: string };

/** Spawns `cmd args`, SIGKILLing it as `kill` says, and waits for it. */
export async function spawnAndWait(
  state: SoakState,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  kill?: KillPlan,
): Promise<Invocation> {
  const child = new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  state.running.add(child);
  let exited = false;
  let hung = false;
  let sawInside = false;
  const signal = (signal: Deno.Signal) => {
    if (exited) return;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  let killer: ReturnType<typeof setTimeout> | undefined;
  if (kill && "afterMs" in kill) killer = setTimeout(() => signal("SIGKILL"), kill.afterMs);
  if (kill && "inside" in kill) {
    const look = () => {
      if (exited) return;
      try {
        Deno.statSync(kill.inside);
        sawInside = true;
        signal("SIGKILL");
      } catch {
        killer = setTimeout(look, 10);
      }
    };
    look();
  }
  const hang = setTimeout(() => {
    hung = true;
    signal("SIGKILL");
  }, HANG_MS);
  try {
    const out = await child.output();
    exited = true;
    const killed = kill !== undefined && !hung && out.signal === "SIGKILL";
    if (killed) state.killedPids.add(child.pid);
    if (killed && sawInside) state.killedInside++;
    if (hung) state.anomalies.push(`hung for ${HANG_MS} ms: ${args.join(" ")}`);
    return {
      args: [cmd, ...args],
      code: out.code,
      signal: out.signal,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      killed,
    };
  } finally {
    exited = true;
    clearTimeout(killer);
    clearTimeout(hang);
    state.running.delete(child);
  }
}

/** Runs `lokt ...args` as `agent` through the real entry point. */
export async function lokt(
  state: SoakState,
  agent: string,
  args: string[],
  kill?: KillPlan,
): Promise<Invocation> {
  const run = await spawnAndWait(
    state,
    Deno.execPath(),
    [...RUN_ARGS, MAIN, ...args],
    state.env(agent),
    kill,
  );
  return { ...run, args: ["lokt", ...args] };
}

/**
 * Tallies an invocation of `action` and reports it as an anomaly when it ended outside `allowed`
 * (unless it was killed on purpose) or said something alarming on stderr.
 */
export function check(
  state: SoakState,
  action: string,
  run: Invocation,
  allowed: readonly number[],
): void {
  tally(state.exits, `${action} ${run.killed ? "SIGKILL" : run.signal ?? run.code}`);
  const what = run.args.join(" ").replace(WITNESS_SCRIPT, "<witness script>");
  if (!run.killed && (run.signal !== null || !allowed.includes(run.code))) {
    state.anomalies.push(
      `${what}: exit ${run.signal ?? run.code}, expected one of ${allowed.join("/")}: ` +
        run.stderr.trim().slice(0, 500),
    );
  } else if (ALARMING.test(run.stderr)) {
    state.anomalies.push(`${what}: ${run.stderr.trim().slice(0, 500)}`);
  }
}

/** Checks that a `--json` output parses (after a successful run). */
function checkJson(state: SoakState, run: Invocation): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(run.stdout);
    if (typeof value === "object" && value !== null) return value;
  } catch {
    // reported below
  }
  state.anomalies.push(`${run.args.join(" ")}: unparsable JSON: ${run.stdout.slice(0, 500)}`);
  return undefined;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // never made
  }
}

function appendLine(path: string, line: string): void {
  Deno.writeTextFileSync(path, line + "\n", { append: true });
}

/** Holds the witness of `name` for `holdMs` as a plain-lock holder; returns when it has left. */
async function holdWitness(
  state: SoakState,
  name: string,
  fence: string,
  who: string,
  holdMs: number,
): Promise<void> {
  const mark = `${state.marks}/${name}.busy`;
  try {
    Deno.mkdirSync(mark);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    appendLine(`${state.marks}/overlaps`, `${name} inside lock ${who}`);
    return;
  }
  appendLine(`${state.marks}/fences`, `${name} ${fence} lock ${who}`);
  await sleep(holdMs);
  try {
    Deno.removeSync(mark);
  } catch {
    appendLine(`${state.marks}/overlaps`, `${name} rmdir-failed lock ${who}`);
  }
}

function pickAction(rng: Rng, unlocked: boolean): Exclude<Action, "unlock"> {
  const choices = unlocked ? WEIGHTS.filter(([a]) => a === "guard" || a === "lock") : WEIGHTS;
  const total = choices.reduce((sum, [, w]) => sum + w, 0);
  let r = rng.int(total);
  for (const [action, weight] of choices) {
    if (r < weight) return action;
    r -= weight;
  }
  return choices[0][0];
}

/** Seconds for `sleep(1)`, from milliseconds. */
function secondsText(ms: number): string {
  return (ms / 1000).toFixed(3);
}

async function guardAction(
  state: SoakState,
  rng: Rng,
  agent: string,
  who: string,
  action: "guard" | "guard --wait",
): Promise<void> {
  const name = rng.pick(state.names);
  const hold = secondsText(rng.range(10, 150));
  const script = ["-c", WITNESS_SCRIPT, "sh", name, state.marks, hold, who];
  if (state.unlocked) {
    check(state, action, await spawnAndWait(state, "sh", script, state.env(agent)), [0]);
    return;
  }
  const flags = action === "guard --wait" ? ["--wait", "--timeout", "3s", "--quiet"] : [];
  if (rng.chance(0.3)) flags.push("--ttl", rng.pick(["1s", "2s", "30s"]));
  // Half the kills land at a random moment (often in start-up or acquisition), half once the
  // command is inside, where the command must keep the lock on its own.
  const inside = `${state.marks}/inside.${who}`;
  const kill: KillPlan | undefined = !rng.chance(state.killShare)
    ? undefined
    : rng.chance(0.5)
    ? { afterMs: rng.range(0, 400) }
    : { inside };
  const run = await lokt(state, agent, ["guard", name, ...flags, "--", "sh", ...script], kill);
  check(state, action, run, [0, 2]);
  if (!run.killed) removeQuietly(inside); // a killed guard's command may still be inside
}

async function lockAction(
  state: SoakState,
  rng: Rng,
  agent: string,
  who: string,
  action: "lock" | "lock --wait",
): Promise<void> {
  const name = rng.pick(state.names);
  const holdMs = rng.range(10, 150);
  if (state.unlocked) {
    tally(state.exits, `${action} 0`);
    return holdWitness(state, name, "-", who, holdMs);
  }
  const flags = action === "lock --wait" ? ["--wait", "--timeout", "3s", "--quiet"] : [];
  // A plain lock follows nothing, this driver (`--pid`), or a TTL far longer than any hold.
  const follow = rng.pick([[], ["--pid", String(Deno.pid)], ["--ttl", "5m"]]);
  const run = await lokt(state, agent, ["lock", name, ...flags, ...follow, "--json"]);
  check(state, action, run, [0, 2]);
  if (run.code !== 0) return;
  const result = checkJson(state, run);
  if (result?.status !== "acquired") {
    state.anomalies.push(`lock ${name} by ${agent} was ${result?.status}, not a new hold`);
  }
  await holdWitness(state, name, String(result?.fence ?? "-"), who, holdMs);
  tally(state.actions, "unlock");
  check(state, "unlock", await lokt(state, agent, ["unlock", name]), [0]);
}

/** Agent ids of workers that wait by polling alone (`LOKT_NO_WATCH=1`) end with this. */
export const POLLING_SUFFIX = "-polling";

/**
 * Runs one worker until the deadline; `index` names its agent id. One worker in four waits by
 * polling alone, as on a file system without change events, beside the others.
 */
export async function runWorker(state: SoakState, rng: Rng, index: number): Promise<void> {
  const agent = `soak-${index}${index % 4 === 3 ? POLLING_SUFFIX : ""}`;
  let started = 0;
  const more = () => Date.now() < state.deadlineMs || started < state.minActionsPerWorker;
  for (; more(); started++) {
    const action = pickAction(rng, state.unlocked);
    tally(state.actions, action);
    const name = rng.pick(state.names);
    switch (action) {
      case "guard":
      case "guard --wait":
        await guardAction(state, rng, agent, `${agent}.${started}`, action);
        break;
      case "lock":
      case "lock --wait":
        await lockAction(state, rng, agent, `${agent}.${started}`, action);
        break;
      case "unlock (not ours)":
        // This worker holds nothing between actions: the name is free (3) or someone else's (4).
        check(state, action, await lokt(state, agent, ["unlock", name]), [3, 4]);
        break;
      case "unlock --break-stale":
        check(state, action, await lokt(state, agent, ["unlock", name, "--break-stale"]), [
          0,
          2,
          3,
        ]);
        break;
      case "status": {
        const args = rng.chance(0.5) ? ["status"] : ["status", name];
        const json = rng.chance(0.5);
        const run = await lokt(state, agent, json ? [...args, "--json"] : args);
        check(state, action, run, args.length === 1 ? [0] : [0, 3]);
        if (json && run.code === 0) checkJson(state, run);
        break;
      }
      case "why": {
        const json = rng.chance(0.5);
        const run = await lokt(state, agent, json ? ["why", name, "--json"] : ["why", name]);
        check(state, action, run, [0, 2]);
        if (json && run.signal === null) checkJson(state, run);
        break;
      }
    }
    await sleep(rng.int(30));
  }
}
