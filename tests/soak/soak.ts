/**
 * The soak: many workers mix guard, lock, unlock, waits, status and why on a few names for a
 * while, through the real entry point, with guards SIGKILLed at random, a long-lived guard and
 * an `audit --tail` watched for memory growth; then everything is checked. See README.md.
 */

import { holderEnv, MAIN } from "../helpers/cli.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";
import { caseSeed, Rng } from "../fuzz/prng.ts";
import { decodeEventLine } from "../../src/audit/event.ts";
import {
  acquisitions,
  entries,
  fencesOutOfOrder,
  isClean,
  journal,
  leftovers,
  pidAlive,
  readAuditLog,
  rssKb,
  ticketPid,
} from "./inspect.ts";
import type { SoakReport } from "./report.ts";
import { check, lokt, POLLING_SUFFIX, runWorker, type SoakState } from "./worker.ts";

export { describeSoak, problems, type SoakReport } from "./report.ts";

/** Settings of one soak run. */
export interface SoakOptions {
  /** A private scratch directory: the lock root and the witnesses go under it. */
  dir: string;
  durationMs: number;
  /**
   * Each worker goes on past `durationMs` until it started this many actions, however long that
   * takes: a busy machine makes the soak slower, not weaker. (Each action is bounded: a lokt
   * process still running after a minute is killed and reported.)
   */
  minActionsPerWorker?: number;
  seed: number;
  /** Worker loops, each running one lokt invocation at a time (default 16). */
  workers?: number;
  /** The contended names (default four). */
  names?: readonly string[];
  /** Share of guards SIGKILLed after a random delay of up to 400 ms (default 0.15). */
  killShare?: number;
  /** Audit rotation size, so that rotation happens under load (default 32 KiB). */
  auditMaxBytes?: number;
  /**
   * Negative control: holders take the witness without any lock (guards run their command
   * directly, plain holders skip `lock`), and nothing else is checked.
   */
  unlocked?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Defaults of {@link SoakOptions}. */
export const SOAK_DEFAULTS = {
  workers: 16,
  names: ["alpha", "beta", "gamma", "delta"] as readonly string[],
  killShare: 0.15,
  auditMaxBytes: 32 * 1024,
};

/** The name the long-lived guard holds while its memory is sampled. */
export const MEMORY_NAME = "soak-mem";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` every 100 ms until it holds or `ms` pass; returns whether it held. */
async function until(ms: number, done: () => boolean | Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= end) return false;
    await sleep(100);
  }
}

async function collect(stream: ReadableStream<Uint8Array>, sink: (text: string) => void) {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) sink(text);
}

/** A long-lived lokt process whose memory is sampled. */
class Watched {
  readonly child: Deno.ChildProcess;
  readonly label: string;
  stderr = "";
  readonly done: Promise<unknown>;

  constructor(
    label: string,
    args: string[],
    env: Record<string, string>,
    stdout?: (line: string) => void,
  ) {
    this.label = label;
    this.child = new Deno.Command(Deno.execPath(), {
      args: [...RUN_ARGS, MAIN, ...args],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: stdout ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    let buffer = "";
    const reads = [collect(this.child.stderr, (t) => (this.stderr += t).length)];
    if (stdout) {
      reads.push(collect(this.child.stdout, (text) => {
        buffer += text;
        for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
          stdout(buffer.slice(0, i));
          buffer = buffer.slice(i + 1);
        }
      }));
    }
    this.done = Promise.all([this.child.status, ...reads]);
  }

  rss(): number | undefined {
    return rssKb(this.child.pid);
  }

  /** Sends `signal` and returns the exit status. */
  async stop(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    await this.done;
    return this.child.status;
  }
}

/** Runs a soak and returns what it saw; it throws only if the harness itself breaks. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const o = { ...SOAK_DEFAULTS, ...options };
  const log = o.log ?? (() => {});
  const root = `${o.dir}/root`;
  const marks = `${o.dir}/marks`;
  Deno.mkdirSync(marks, { recursive: true });
  const env = (agent: string) =>
    holderEnv(root, agent, {
      LOKT_AUDIT_MAX_BYTES: String(o.auditMaxBytes),
      LOKT_AUDIT_KEEP: "100000",
      ...(agent.endsWith(POLLING_SUFFIX) ? { LOKT_NO_WATCH: "1" } : {}),
    });
  const state: SoakState = {
    root,
    marks,
    names: o.names,
    deadlineMs: 0,
    minActionsPerWorker: o.minActionsPerWorker ?? 0,
    killShare: o.killShare,
    unlocked: o.unlocked === true,
    env,
    actions: {},
    exits: {},
    killedPids: new Set(),
    killedInside: 0,
    overlaps: [],
    anomalies: [],
    running: new Set(),
  };
  const report: SoakReport = {
    seed: o.seed,
    workers: o.workers,
    names: o.names,
    unlocked: state.unlocked,
    elapsedMs: 0,
    actions: state.actions,
    exits: state.exits,
    acquisitions: {},
    killed: 0,
    killedInside: 0,
    overlaps: [],
    fencesOutOfOrder: [],
    unaudited: [],
    anomalies: state.anomalies,
    audit: { files: 0, lines: 0, unparsable: [], events: {}, acquired: new Set(), tailSeen: 0 },
    leftovers: {
      before: { locks: [], freezes: [], tickets: [], tmp: [] },
      after: { locks: [], freezes: [], tickets: [], tmp: [] },
    },
    rss: { guard: [], tail: [] },
    // A tenth of the run, 2 to 10 s: enough for V8 to settle into its steady heap.
    warmupMs: Math.min(10_000, Math.max(2_000, o.durationMs / 10)),
  };

  let guard: Watched | undefined;
  let tail: Watched | undefined;
  try {
    if (!state.unlocked) {
      guard = new Watched(
        "guard",
        ["guard", MEMORY_NAME, "--ttl", "2s", "--", "sleep", "86400"],
        env("soak-mem"),
      );
      const held = await until(
        30_000,
        () => pidAlive(guard!.child.pid) && exists(`${root}/locks/${MEMORY_NAME}.json`),
      );
      if (!held) throw new Error(`the long-lived guard did not take its lock: ${guard.stderr}`);
      let tailReady: () => void;
      const ready = new Promise<void>((resolve) => (tailReady = resolve));
      tail = new Watched(
        "audit --tail",
        ["audit", "--tail", "--json", "--limit", "1000000"],
        env("soak-tail"),
        (line) => {
          report.audit.tailSeen++;
          if (decodeEventLine(line) === undefined) {
            state.anomalies.push(`audit --tail printed an unparsable line: ${line.slice(0, 300)}`);
          }
          tailReady();
        },
      );
      const timeout = sleep(30_000).then(() => false);
      if (!(await Promise.race([ready.then(() => true), timeout]))) {
        throw new Error(`audit --tail printed nothing: ${tail.stderr}`);
      }
    }
    let t0 = Date.now();
    const sample = () => {
      for (const [w, samples] of [[guard, report.rss.guard], [tail, report.rss.tail]] as const) {
        const kb = w?.rss();
        if (kb !== undefined) samples.push({ ms: Date.now() - t0, kb });
      }
    };
    sample();

    log(
      `soak: seed ${o.seed}, ${o.workers} workers on ${o.names.join(", ")}, ` +
        `${(o.durationMs / 1000).toFixed(0)} s${state.unlocked ? ", WITHOUT LOCKS" : ""}`,
    );
    t0 = Date.now();
    state.deadlineMs = t0 + o.durationMs;
    const workers = Array.from(
      { length: o.workers },
      (_, i) => runWorker(state, new Rng(caseSeed(o.seed, i)), i),
    );
    let finished = false;
    const all = Promise.all(workers).finally(() => (finished = true));
    const every = Math.max(1_000, Math.min(o.durationMs / 12, report.warmupMs));
    while (!finished) {
      await Promise.race([all, sleep(every)]);
      if (finished) break;
      sample();
      const seconds = Math.round((Date.now() - t0) / 1000);
      const acts = Object.values(state.actions).reduce((a, b) => a + b, 0);
      log(
        `  ${seconds} s: ${acts} actions, ${
          state.overlaps.length + journal(`${marks}/overlaps`).length
        } overlaps, ${state.anomalies.length} anomalies`,
      );
    }
    await all;
    report.elapsedMs = Date.now() - t0;

    if (!state.unlocked) await finish(state, report, guard!, tail!, sample);
  } finally {
    for (const child of state.running) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await guard?.stop("SIGKILL");
    await tail?.stop("SIGKILL");
  }

  const holds = entries(journal(`${marks}/fences`));
  report.acquisitions = acquisitions(holds);
  report.fencesOutOfOrder = fencesOutOfOrder(holds);
  // Every hold was announced: guards and `lock` record `acquire` before the holder can enter.
  if (!state.unlocked) {
    report.unaudited = holds.map((h) => `${h.name}#${h.fence}`)
      .filter((key) => !report.audit.acquired.has(key));
  }
  report.overlaps = journal(`${marks}/overlaps`);
  report.killed = state.killedPids.size;
  report.killedInside = state.killedInside;
  return report;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Once every worker is done: wait for the commands of killed guards to end, look at what is left,
 * let one more guard per name clear it, stop the long-lived processes, and read the audit log.
 */
async function finish(
  state: SoakState,
  report: SoakReport,
  guard: Watched,
  tail: Watched,
  sample: () => void,
): Promise<void> {
  const { root } = state;
  // Commands of SIGKILLed guards keep their locks until they end; every other lock is released.
  let live: string[] = [];
  const quiet = await until(30_000, async () => {
    const run = await lokt(state, "soak-check", ["status", "--json"]);
    check(state, "status (final)", run, [0]);
    let locks: { name: string; state: string }[] = [];
    try {
      locks = JSON.parse(run.stdout).locks ?? [];
    } catch {
      // reported by check
    }
    live = locks.filter((l) => l.name !== MEMORY_NAME && l.state !== "stale").map((l) => l.name);
    return live.length === 0;
  });
  if (!quiet) state.anomalies.push(`locks still live after every worker ended: ${live.join(", ")}`);

  const before = leftovers(root);
  report.leftovers.before = before;
  for (const ticket of before.tickets) {
    const pid = ticketPid(root, ticket);
    if (pid === undefined || pidAlive(pid)) {
      state.anomalies.push(`queue ticket ${ticket} of a live or unknown waiter (pid ${pid})`);
    }
  }

  // What a crash leaves is cleared by the next ordinary use of the name.
  for (const name of state.names) {
    check(state, "guard (sweep)", await lokt(state, "soak-sweep", ["guard", name, "--", "true"]), [
      0,
    ]);
  }

  sample();
  const guardStatus = await guard.stop("SIGTERM");
  if (guardStatus.code !== 143) {
    state.anomalies.push(
      `long-lived guard exited ${guardStatus.code} on SIGTERM, not 143: ${guard.stderr}`,
    );
  }
  // The tail must see every line the log holds, rotations included.
  const logged = () => readAuditLog(`${root}/audit.log`).lines;
  await until(15_000, () => report.audit.tailSeen >= logged());
  const tailStatus = await tail.stop("SIGTERM");
  if (tailStatus.code !== 0) {
    state.anomalies.push(
      `audit --tail exited ${tailStatus.code} on SIGTERM, not 0: ${tail.stderr}`,
    );
  }
  for (const w of [guard, tail]) {
    if (/warning:|error:/.test(w.stderr)) {
      state.anomalies.push(`${w.label}: ${w.stderr.slice(0, 500)}`);
    }
  }

  const busy = [...Deno.readDirSync(state.marks)].filter((e) => e.name.endsWith(".busy"));
  if (busy.length > 0) {
    state.anomalies.push(`witnesses never left: ${busy.map((e) => e.name).join(", ")}`);
  }
  const after = leftovers(root);
  // Temporary files and scratch roots of killed processes were cleared by the sweep's takes.
  report.leftovers.after = after;
  report.audit = { ...readAuditLog(`${root}/audit.log`), tailSeen: report.audit.tailSeen };
  if (report.audit.tailSeen !== report.audit.lines) {
    state.anomalies.push(
      `audit --tail printed ${report.audit.tailSeen} of ${report.audit.lines} events`,
    );
  }
  if (!isClean(after)) state.anomalies.push(`left under the root: ${JSON.stringify(after)}`);
}
