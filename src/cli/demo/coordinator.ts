/**
 * The demo's coordinator: makes a temporary directory with its own lock root and a counter file,
 * starts the workers as real lokt processes, lets them go at the same moment, prints their
 * rounds as they come, then the verdict and the audit trail, and removes the directory.
 */

import { decodeEventLine, type LoggedEvent } from "../../audit/event.ts";
import { InterruptedError } from "../../errors.ts";
import { formatDuration } from "../../locks/describe.ts";
import { EXIT } from "../exit.ts";
import type { Session } from "../session.ts";
import {
  auditLine,
  decodeMessage,
  DEMO_LOCK,
  eventCounts,
  outcomeLines,
  outcomeOf,
  overlaps,
  type Round,
  roundLine,
  selfCommand,
  WORKER_ENV,
  type WorkerMessage,
} from "./report.ts";
import { counterPath, readCounter } from "./worker.ts";

/** What the demo runs. */
export interface DemoOptions {
  workers: number;
  rounds: number;
  delayMs: number;
  lock: boolean;
}

/** How many audit events the trail shows. */
const TRAIL_LENGTH = 16;

/**
 * Variables the workers must not inherit: an enclosing guard's (the demo's lock is its own), and
 * audit rotation limits (the trail reads a single audit.log).
 */
const NOT_INHERITED = [
  "LOKT_LOCK_ID",
  "LOKT_LOCK_NAME",
  "LOKT_LOCK_ROOT",
  "LOKT_FENCE",
  "LOKT_AUDIT_MAX_BYTES",
  "LOKT_AUDIT_KEEP",
];

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function workerEnv(session: Session, dir: string, index: number): Record<string, string> {
  const env = session.world.envObject();
  for (const name of NOT_INHERITED) delete env[name];
  return {
    ...env,
    LOKT_ROOT: `${dir}/root`,
    // The demo is a sandbox: its workers never touch a shared database the repository chooses.
    LOKT_BACKEND: "files",
    LOKT_OWNER: "demo",
    LOKT_AGENT_ID: `demo-worker-${index}`,
    LOKT_NO_DETECT: "1",
    [WORKER_ENV.index]: String(index),
    [WORKER_ENV.dir]: dir,
  };
}

/** Calls `onLine` for each line of `stream`, as it arrives. */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  if (pending !== "") onLine(pending);
}

/** A worker process and what it has said. */
interface Worker {
  index: number;
  child: Deno.ChildProcess;
  status: Promise<Deno.CommandStatus>;
  output: Promise<void>;
}

/** Runs the demo; returns the exit code. */
export async function runDemo(session: Session, options: DemoOptions): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "lokt-demo-" });
  const stop = new AbortController();
  let caught: Deno.Signal | undefined;
  const listeners = SIGNALS.flatMap((signal) => {
    const listener = () => {
      caught ??= signal;
      stop.abort();
    };
    try {
      Deno.addSignalListener(signal, listener);
      return [{ signal, listener }];
    } catch {
      return []; // not available on this platform
    }
  });
  try {
    const code = await demoIn(session, dir, options, stop.signal);
    if (caught !== undefined) throw new InterruptedError(caught);
    return code;
  } finally {
    for (const { signal, listener } of listeners) Deno.removeSignalListener(signal, listener);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function demoIn(
  session: Session,
  dir: string,
  options: DemoOptions,
  stopped: AbortSignal,
): Promise<number> {
  const out = (line = "") => session.out(`${line}\n`);
  const total = options.workers * options.rounds;
  const delay = formatDuration(options.delayMs);
  Deno.writeTextFileSync(counterPath(dir), "0\n");

  out(
    `lokt demo: ${options.workers} workers, ${options.rounds} rounds each, one shared counter`,
  );
  out(`Each round, a worker adds 1 to the counter file the slow way: read it, pause ${delay},`);
  out(
    options.lock
      ? `write it back, holding the lock "${DEMO_LOCK}" (taken with a wait, as \`lokt guard ${DEMO_LOCK} --wait\` would).`
      : "write it back, WITHOUT a lock (--no-lock): workers may read the same value.",
  );
  out(`The counter should end at ${options.workers} x ${options.rounds} = ${total}.`);
  out(`(working in ${dir}, removed at the end)`);
  out();

  const self = selfCommand({
    execPath: Deno.execPath(),
    mainModule: Deno.mainModule,
    standalone: Deno.build.standalone,
  });
  const workerArgs = [
    ...self.args,
    "demo",
    "--rounds",
    String(options.rounds),
    "--delay",
    `${options.delayMs}ms`,
    ...(options.lock ? [] : ["--no-lock"]),
  ];

  const rounds: Round[] = [];
  let startMs = session.world.now();
  const written = new Set<number>();
  let ready = 0;
  let allReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => allReady = resolve);
  const onMessage = (index: number, line: string) => {
    const message: WorkerMessage | undefined = decodeMessage(line);
    if (message === undefined) {
      if (line.trim() !== "") out(`  [worker ${index}] ${line}`);
      return;
    }
    switch (message.type) {
      case "ready":
        if (++ready === options.workers) allReady();
        return;
      case "round": {
        const round = message.round;
        rounds.push(round);
        // A value written twice means two updates counted once: one was lost.
        out(roundLine(startMs, round, written.has(round.after)));
        written.add(round.after);
        return;
      }
      case "done":
        return;
    }
  };

  const workers: Worker[] = [];
  for (let index = 1; index <= options.workers; index++) {
    const child = new Deno.Command(self.program, {
      args: workerArgs,
      env: workerEnv(session, dir, index),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    workers.push({
      index,
      child,
      status: child.status,
      output: eachLine(child.stdout, (line) => onMessage(index, line)),
    });
  }
  const killAll = () => {
    for (const worker of workers) {
      try {
        worker.child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }
  };
  // Workers normally finish in well under a second per round; this only stops a hung demo.
  const deadlineMs = 60_000 + total * (options.delayMs + 100);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    killAll();
  }, deadlineMs);
  stopped.addEventListener("abort", killAll);

  try {
    // Barrier: every worker has started up (Deno start-up takes a while) before any begins, so
    // that they really contend.
    const firstExit = Promise.race(workers.map((w) => w.status));
    const stoppedEarly = await Promise.race([readyPromise.then(() => false), firstExit]);
    if (stoppedEarly === false) {
      startMs = session.world.now();
      for (const worker of workers) {
        const writer = worker.child.stdin.getWriter();
        await writer.write(new TextEncoder().encode("go\n")).catch(() => {});
        await writer.close().catch(() => {});
      }
    } else {
      killAll();
    }
    const statuses = await Promise.all(workers.map((w) => w.status));
    await Promise.all(workers.map((w) => w.output));
    if (stopped.aborted) return EXIT.error;

    const failed = workers.filter((_, i) => !statuses[i].success);
    if (timedOut) {
      session.err(`error: the demo did not finish within ${formatDuration(deadlineMs)}\n`);
      return EXIT.error;
    }
    if (failed.length > 0) {
      const which = failed.map((w) => `worker ${w.index} (exit ${statuses[w.index - 1].code})`);
      session.err(`error: ${which.join(", ")} failed; see the messages above\n`);
      return EXIT.error;
    }
  } finally {
    clearTimeout(deadline);
    stopped.removeEventListener("abort", killAll);
  }

  const outcome = outcomeOf(total, readCounter(dir));
  out();
  for (const line of outcomeLines(outcome, options.lock, overlaps(rounds))) out(line);
  out();
  trail(session, dir, startMs);
  out();
  out(
    options.lock
      ? "next: lokt demo --no-lock    the same, without the lock"
      : "next: lokt demo              the same, with the lock",
  );
  // --no-lock exits 0 too: showing the lost updates is what it was asked to do.
  return outcome.kind === "correct" || !options.lock ? EXIT.ok : EXIT.error;
}

/** Prints the last events of the demo's audit log. */
function trail(session: Session, dir: string, startMs: number): void {
  // The demo's log is far below the rotation size: audit.log holds every event.
  let text = "";
  try {
    text = Deno.readTextFileSync(`${dir}/root/audit.log`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const events = text.split("\n").map(decodeEventLine).filter((e): e is LoggedEvent =>
    e !== undefined
  );
  if (events.length === 0) {
    session.out("audit trail: empty (without the lock, nothing was recorded)\n");
    return;
  }
  const shown = events.slice(-TRAIL_LENGTH);
  const which = shown.length === events.length ? "all of them" : `the last ${shown.length}`;
  session.out(
    `audit trail: ${events.length} events in audit.log (${eventCounts(events)}); ${which}:\n`,
  );
  for (const event of shown) session.out(`${auditLine(startMs, event)}\n`);
}
