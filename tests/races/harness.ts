/**
 * The coordinator side of the race tests: spawns long-lived worker processes (`worker.ts`),
 * releases racers together through a barrier, and runs storms with random kills.
 */

import { holderEnv } from "../helpers/cli.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { newLockId } from "../../src/locks/context.ts";
import { layoutOf, lockPath } from "../../src/locks/layout.ts";
import { encodeLock, type LockRecord } from "../../src/locks/lockfile.ts";
import {
  type Command,
  emptyStats,
  EXIT_WHILE_HOLDING,
  type FenceReport,
  type OverlapReport,
  type RaceConfig,
  type Report,
  type ResultReport,
  type StormConfig,
  type StormStats,
} from "./protocol.ts";

/**
 * The race tests run on Linux only: the workers judge liveness with the Linux probe, which reads
 * `/proc` (on macOS every liveness check spawns `ps`, and hundreds of rounds would take minutes).
 */
export const NOT_LINUX = Deno.build.os !== "linux";

/** The worker program. */
export const WORKER = decodeURIComponent(new URL("./worker.ts", import.meta.url).pathname);

/** How long any single expected report may take before the test fails instead of hanging. */
export const REPORT_TIMEOUT_MS = 30_000;

const encoder = new TextEncoder();
const probe = new LinuxProbe();

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms`: only ever used for random pacing, never to wait for another process. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomBetween([min, max]: [number, number]): number {
  return min + Math.random() * (max - min);
}

type Pending = { resolve(report: Report): void; reject(error: Error): void };

/** One worker process, its command pipe and its reports. */
export class WorkerProcess {
  readonly label: string;
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** Settles when the worker reports "ready", or fails if it ends first. */
  readonly ready: Promise<void>;
  /** Everything the worker wrote on stderr (kept for failure messages). */
  stderr = "";
  readonly #ready = Promise.withResolvers<void>();
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #queue: Report[] = [];
  readonly #readers: Promise<void>;
  readonly #onReport?: (report: Report) => void;
  #pending?: Pending;
  #ended = false;
  #exited = false;

  /**
   * Starts `deno run -A worker.ts <mode> <config>`. With `onReport`, every report goes there;
   * without, reports queue up for {@link next}.
   */
  constructor(
    mode: "race" | "unsafe-race" | "storm",
    config: RaceConfig | StormConfig,
    onReport?: (report: Report) => void,
  ) {
    this.label = `${mode} worker ${config.agent}`;
    this.#onReport = onReport;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", WORKER, mode, JSON.stringify(config)],
      env: holderEnv(config.root, config.agent),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#writer = this.#child.stdin.getWriter();
    this.status = this.#child.status;
    this.status.then(() => (this.#exited = true));
    this.ready = this.#ready.promise;
    this.ready.catch(() => {}); // a worker killed before it was ready is not an error by itself
    this.#readers = Promise.all([this.#readReports(), this.#readStderr()]).then(() => {});
  }

  async #readReports(): Promise<void> {
    let buffer = "";
    try {
      for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
        buffer += text;
        for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
          const line = buffer.slice(0, i).trim();
          buffer = buffer.slice(i + 1);
          if (line !== "") this.#deliver(this.#parse(line));
        }
      }
    } finally {
      this.#ended = true;
      this.#ready.reject(new Error(`${this.label} ended before it was ready${this.#stderrTail()}`));
      this.#pending?.reject(new Error(`${this.label} ended before reporting${this.#stderrTail()}`));
      this.#pending = undefined;
    }
  }

  #parse(line: string): Report {
    try {
      return JSON.parse(line) as Report;
    } catch {
      return { type: "error", error: `unparsable report: ${line}` };
    }
  }

  #deliver(report: Report): void {
    if (report.type === "ready") this.#ready.resolve();
    if (this.#onReport) return this.#onReport(report);
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) pending.resolve(report);
    else this.#queue.push(report);
  }

  async #readStderr(): Promise<void> {
    for await (const text of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      if (this.stderr.length < 20_000) this.stderr += text;
    }
  }

  #stderrTail(): string {
    return this.stderr === "" ? "" : `; its stderr:\n${this.stderr.slice(-2000)}`;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends one command line; false if the worker is gone. */
  async send(command: Command): Promise<boolean> {
    try {
      await this.#writer.write(encoder.encode(command + "\n"));
      return true;
    } catch {
      return false;
    }
  }

  /** The next report, failing after `timeoutMs` or when the worker ends. */
  next(timeoutMs = REPORT_TIMEOUT_MS): Promise<Report> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#ended) {
      return Promise.reject(new Error(`${this.label} has ended${this.#stderrTail()}`));
    }
    const { promise, resolve, reject } = Promise.withResolvers<Report>();
    const timer = setTimeout(() => {
      this.#pending = undefined;
      reject(new Error(`${this.label}: no report within ${timeoutMs} ms${this.#stderrTail()}`));
    }, timeoutMs);
    this.#pending = {
      resolve: (report) => (clearTimeout(timer), resolve(report)),
      reject: (error) => (clearTimeout(timer), reject(error)),
    };
    return promise;
  }

  /** The next report, which must be of `type`. */
  async expect<T extends Report["type"]>(
    type: T,
    timeoutMs = REPORT_TIMEOUT_MS,
  ): Promise<Extract<Report, { type: T }>> {
    const report = await this.next(timeoutMs);
    if (report.type !== type) {
      throw new Error(`${this.label}: expected "${type}", got ${JSON.stringify(report)}`);
    }
    return report as Extract<Report, { type: T }>;
  }

  /** Sends SIGKILL (ignored if the process has already exited). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  /** Kills the worker if it still runs, and waits until it and its pipes are gone. */
  async close(): Promise<void> {
    this.kill();
    await this.status;
    await this.#writer.close().catch(() => {});
    await this.#readers.catch(() => {});
  }
}

/** Awaits `promise`, failing with `message` if it takes longer than `ms`. */
export async function within<T>(ms: number, message: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A crew of racers that each make one attempt per round, all released at once: the crew holds
 * an exclusive flock on a gate file, every racer reports "armed" and then blocks on a shared
 * flock of the gate, and unlocking it lets the kernel wake them together.
 */
export class RaceCrew {
  readonly workers: WorkerProcess[];
  readonly #gate: Deno.FsFile;

  private constructor(workers: WorkerProcess[], gate: Deno.FsFile) {
    this.workers = workers;
    this.#gate = gate;
  }

  /** Spawns `count` racers and waits until each is ready. */
  static async start(
    mode: "race" | "unsafe-race",
    count: number,
    config: Omit<RaceConfig, "agent" | "gate">,
  ): Promise<RaceCrew> {
    const gatePath = `${config.root}/../gate`;
    const gate = Deno.openSync(gatePath, { read: true, write: true, create: true });
    const workers: WorkerProcess[] = [];
    const crew = new RaceCrew(workers, gate);
    try {
      for (let i = 0; i < count; i++) {
        workers.push(new WorkerProcess(mode, { ...config, agent: `racer-${i}`, gate: gatePath }));
      }
      await Promise.all(workers.map((w) => w.expect("ready", 60_000)));
      return crew;
    } catch (error) {
      await crew.close();
      throw error;
    }
  }

  /** Releases every racer into one attempt and returns their results, in worker order. */
  async round(round: number): Promise<ResultReport[]> {
    await this.#gate.lock(true);
    try {
      await Promise.all(this.workers.map((w) => w.send(`arm ${round}`)));
      await Promise.all(this.workers.map((w) => w.expect("armed")));
    } finally {
      this.#gate.unlockSync();
    }
    const results = await Promise.all(this.workers.map((w) => w.expect("result")));
    for (const r of results) {
      if (r.round !== round) throw new Error(`result of round ${r.round} in round ${round}`);
    }
    return results;
  }

  /** Tells the racer at `index` to release its hold `lockId`; returns what the release found. */
  async release(index: number, lockId: string): Promise<string> {
    const worker = this.workers[index];
    await worker.send(`release ${lockId}`);
    return (await worker.expect("released")).outcome;
  }

  /** Kills every racer and waits for them. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    this.#gate.close();
  }
}

/** How far apart the racers of one round passed the barrier, in milliseconds. */
export function spread(results: ResultReport[]): number {
  const times = results.map((r) => r.passedAt);
  return Math.max(...times) - Math.min(...times);
}

/** Median of `values` (0 for none). */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A storm's settings. */
export interface StormOptions {
  workers: number;
  /**
   * The work to do: the storm ends once this holds (checked between kills and orders), however
   * long that takes on a busy machine. It should also hold after some bound on the work, so that
   * a storm that keeps going without doing what the test waits for still ends.
   */
  until: (result: StormResult) => boolean;
  /** The configuration of a new worker with agent id `agent`. */
  config: (agent: string) => StormConfig;
  /** Pause between SIGKILLs of a random worker, milliseconds. */
  killEveryMs: [number, number];
  /** Pause between orders to a random worker to exit while holding its next lock. */
  dieEveryMs: [number, number];
  /** A storm in which no worker acquired anything for this long is hung: an error (default 60 s). */
  stallMs?: number;
}

/** What a storm saw. */
export interface StormResult {
  stats: StormStats;
  overlaps: OverlapReport[];
  /** Holders that found an earlier holder's fence at or above their own. */
  regressions: FenceReport[];
  errors: string[];
  spawned: number;
  killed: number;
  dieOrders: number;
  /** Exit codes of the workers, counted. */
  exits: Record<string, number>;
  /** Storm time, from the first "go" to the last worker's exit. */
  elapsedMs: number;
}

/** Fences handed out twice for one name: two acquisitions that both thought they were new. */
export function duplicateFences(result: StormResult): string[] {
  const duplicates: string[] = [];
  for (const [name, fences] of Object.entries(result.stats.fences)) {
    const seen = new Set<number>();
    for (const f of fences) {
      if (seen.has(f)) duplicates.push(`${name}#${f}`);
      seen.add(f);
    }
  }
  return duplicates;
}

/** One line about a storm, for the test output. */
export function describeStorm(result: StormResult): string {
  const s = result.stats;
  return `${(result.elapsedMs / 1000).toFixed(1)} s: ${s.acquired} acquisitions of ` +
    `${s.attempts} attempts, ${s.takeovers} takeovers, ${s.deadWitnesses} dead holders' ` +
    `witnesses cleared, ${s.renewed} renewals, ${s.waitTimeouts} wait timeouts, ` +
    `${s.reclaims} fence files reclaimed (${s.sweeps} sweeps); ` +
    `${result.spawned} workers spawned, ${result.killed} SIGKILLed, ${result.dieOrders} told ` +
    `to die holding; exits ${JSON.stringify(result.exits)}`;
}

function addStats(total: StormStats, more: StormStats): void {
  total.attempts += more.attempts;
  total.acquired += more.acquired;
  total.takeovers += more.takeovers;
  total.deadWitnesses += more.deadWitnesses;
  total.renewed += more.renewed;
  total.waitTimeouts += more.waitTimeouts;
  total.reclaims += more.reclaims;
  total.sweeps += more.sweeps;
  for (const [name, fences] of Object.entries(more.fences)) {
    (total.fences[name] ??= []).push(...fences);
  }
}

/**
 * Runs `workers` storm workers until `until` holds, SIGKILLing random workers and ordering others
 * to exit while holding, and replacing every worker that ends; then stops them all. A storm that
 * stops acquiring for `stallMs` ends with an error.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  const result: StormResult = {
    stats: emptyStats(),
    overlaps: [],
    regressions: [],
    errors: [],
    spawned: 0,
    killed: 0,
    dieOrders: 0,
    exits: {},
    elapsedMs: 0,
  };
  const all: WorkerProcess[] = [];
  const running = new Set<WorkerProcess>();
  let stopping = false;
  let started = false;
  // Only workers that were told to go and still run are candidates for kills and orders.
  const enlist = (worker?: WorkerProcess) => {
    if (worker && !worker.exited) running.add(worker);
  };

  const spawn = (): WorkerProcess => {
    const agent = `storm-${result.spawned++}`;
    const worker: WorkerProcess = new WorkerProcess("storm", options.config(agent), (report) => {
      switch (report.type) {
        case "ready":
          if (stopping) void worker.send("stop");
          else if (started) void worker.send("go").then(() => enlist(worker));
          break;
        case "stats":
        case "done":
          addStats(result.stats, report.stats);
          break;
        case "overlap":
          result.overlaps.push(report);
          break;
        case "fence":
          result.regressions.push(report);
          break;
        case "error":
          result.errors.push(`${worker.label}: ${report.error}`);
          break;
      }
    });
    all.push(worker);
    worker.status.then((status) => {
      running.delete(worker);
      const key = status.signal ?? String(status.code);
      result.exits[key] = (result.exits[key] ?? 0) + 1;
      if (status.code !== 0 && status.signal === null && status.code !== EXIT_WHILE_HOLDING) {
        result.errors.push(`${worker.label} exited with ${status.code}: ${worker.stderr}`);
      }
      if (!stopping && result.errors.length === 0) spawn();
    });
    return worker;
  };

  try {
    const first = Array.from({ length: options.workers }, spawn);
    await within(60_000, "storm workers starting", Promise.all(first.map((w) => w.ready)));
    const t0 = preciseNow();
    started = true;
    await Promise.all(first.map(async (w) => enlist(await w.send("go") ? w : undefined)));
    const stallMs = options.stallMs ?? 60_000;
    let lastAcquired = -1;
    let lastProgress = preciseNow();
    const stalled = () => {
      if (result.errors.length > 0) return true;
      if (result.stats.acquired !== lastAcquired) {
        lastAcquired = result.stats.acquired;
        lastProgress = preciseNow();
      } else if (preciseNow() - lastProgress > stallMs) {
        result.errors.push(`no acquisition for ${stallMs / 1000} s: the storm is stuck`);
      }
      return result.errors.length > 0;
    };
    const over = () => stalled() || options.until(result);

    const pick = (): WorkerProcess | undefined => {
      const list = [...running];
      return list[Math.floor(Math.random() * list.length)];
    };
    const killer = async () => {
      for (;;) {
        await sleep(randomBetween(options.killEveryMs));
        if (over()) return;
        const victim = pick();
        if (victim) {
          running.delete(victim);
          victim.kill();
          result.killed++;
        }
      }
    };
    const dooms = async () => {
      for (;;) {
        await sleep(randomBetween(options.dieEveryMs));
        if (over()) return;
        const victim = pick();
        if (victim && (await victim.send("die-holding"))) result.dieOrders++;
      }
    };
    await Promise.all([killer(), dooms()]);

    stopping = true;
    await Promise.all(all.map((w) => w.send("stop")));
    // After an error (a hung storm among them), the workers are killed below instead.
    if (result.errors.length === 0) {
      await within(30_000, "storm workers stopping", Promise.all(all.map((w) => w.status)));
    }
    result.elapsedMs = preciseNow() - t0;
    return result;
  } finally {
    stopping = true;
    await Promise.all(all.map((w) => w.close()));
  }
}

/**
 * Writes a stale guard record for `name` (its process is dead and its TTL ran out), as a holder
 * killed with SIGKILL leaves behind, and returns its lock id. Renamed into place, so racers that
 * look early see the old record or the new one, never a partial file.
 */
export function plantStale(root: string, name: string, fence: number, deadPid: number): string {
  const layout = layoutOf(root);
  const machine = probe.machine();
  const now = Date.now();
  const lock: LockRecord = {
    name,
    lockId: newLockId(),
    kind: "guard",
    owner: "tester",
    host: machine.host,
    agentId: "killed-holder",
    pid: deadPid,
    pidStart: "0", // not the start of any process that may reuse the pid
    pidSource: "self",
    bootId: machine.bootId,
    pidNs: machine.pidNs,
    acquiredMs: now - 120_000,
    ttlMs: 60_000,
    expiresMs: now - 60_000,
    fence,
  };
  const temp = `${layout.tmp}/planted.json`;
  Deno.writeTextFileSync(temp, encodeLock(lock), { mode: 0o600 });
  Deno.renameSync(temp, lockPath(layout, name));
  return lock.lockId;
}

/** One round of a race, as the coordinator saw it. */
export interface RaceRound {
  round: number;
  /** Lock id of the stale record planted before the round, if any. */
  planted?: string;
  results: ResultReport[];
  /** Indexes of the racers that won. */
  winners: number[];
}

/** Timings of a series of rounds. */
export interface RaceTimings {
  startupMs: number;
  roundsMs: number;
  rounds: number;
  /** Barrier spread of each round, milliseconds. */
  spreads: number[];
}

/**
 * Runs up to `rounds` rounds of `racers` workers in `mode` on `name` under `root`. Before each
 * round, `plant` (if given) may put a record in place and return its lock id; after each round,
 * `onRound` checks it and may return false to stop. Every winner then releases its hold, and
 * `onRelease` checks what the release found.
 */
export async function raceRounds(options: {
  mode: "race" | "unsafe-race";
  root: string;
  name: string;
  racers: number;
  rounds: number;
  plant?: (round: number, fence: number) => string;
  onRound: (round: RaceRound) => boolean | void;
  onRelease?: (round: number, outcome: string) => void;
  unsafeDelayMs?: number;
}): Promise<RaceTimings> {
  const t0 = performance.now();
  const crew = await RaceCrew.start(options.mode, options.racers, {
    root: options.root,
    name: options.name,
    unsafeDelayMs: options.unsafeDelayMs,
  });
  const t1 = performance.now();
  const spreads: number[] = [];
  let fence = 0;
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const planted = options.plant?.(round, fence);
      const results = await crew.round(round);
      spreads.push(spread(results));
      const winners = results.flatMap((r, i) => (r.won ? [i] : []));
      const more = options.onRound({ round, planted, results, winners });
      for (const i of winners) {
        fence = Math.max(fence, results[i].fence ?? 0);
        const outcome = await crew.release(i, results[i].lockId!);
        options.onRelease?.(round, outcome);
      }
      if (more === false) break;
    }
    return {
      startupMs: t1 - t0,
      roundsMs: performance.now() - t1,
      rounds: spreads.length,
      spreads,
    };
  } finally {
    await crew.close();
  }
}

/** One line about a series of rounds, for the test output. */
export function describeTimings(t: RaceTimings): string {
  const ms = (n: number) => n.toFixed(1);
  return `start-up ${ms(t.startupMs)} ms, ${t.rounds} rounds in ${ms(t.roundsMs)} ms ` +
    `(${ms(t.roundsMs / t.rounds)} ms each); barrier spread median ${ms(median(t.spreads))} ms, ` +
    `max ${ms(Math.max(...t.spreads))} ms`;
}
