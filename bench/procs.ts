/**
 * Child processes that report lock events on stdout as `<kind> <epoch ms>` lines (`req`, `acq`,
 * `rel`), and ways to see how many of them are queued behind a lock.
 */

import { sleep } from "./setup.ts";

/** One reported moment. */
export interface Stamp {
  /** Which process said it (index given at spawn). */
  proc: number;
  kind: "req" | "acq" | "rel";
  /** Epoch milliseconds, sub-millisecond resolution. */
  t: number;
}

/** A running reporter process. */
export interface Reporter {
  readonly proc: number;
  readonly stamps: Stamp[];
  /** Resolves at the process's first `acq`. */
  readonly acquired: Promise<void>;
  /** Resolves with the exit code once the process has exited and its output is read. */
  readonly done: Promise<number>;
  /** Writes one line to the process's stdin (a holder releases on it). */
  say(line: string): Promise<void>;
  /** Kills the process (when a benchmark gives up). */
  kill(): void;
}

/** Spawns `cmd` and collects its stamps. Bash's `$EPOCHREALTIME` (seconds) is accepted too. */
export function spawnReporter(
  proc: number,
  cmd: readonly string[],
  env: Record<string, string>,
): Reporter {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stamps: Stamp[] = [];
  let onAcquired!: () => void;
  let onFailed!: (error: Error) => void;
  const acquired = new Promise<void>((resolve, reject) => {
    onAcquired = resolve;
    onFailed = reject;
  });
  acquired.catch(() => {}); // observed through `done` when nobody waits for it
  const reading = (async () => {
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        const m = line.match(/^(req|acq|rel) (\d+(?:\.\d+)?)$/);
        if (!m) continue;
        const value = Number(m[2]);
        // Bash prints seconds (10 digits before the point), Deno milliseconds (13).
        const t = m[2].split(".")[0].length <= 11 ? value * 1000 : value;
        stamps.push({ proc, kind: m[1] as Stamp["kind"], t });
        if (m[1] === "acq") onAcquired();
      }
    }
  })();
  const errText = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const done = (async () => {
    const status = await child.status;
    await reading;
    const err = await errText;
    try {
      await writer.close();
    } catch {
      // the process is gone
    }
    if (!status.success) {
      onFailed(new Error(`process ${proc} exited ${status.code}: ${err.trim().slice(0, 400)}`));
    } else onFailed(new Error(`process ${proc} exited without acquiring`));
    return status.code;
  })();
  return {
    proc,
    stamps,
    acquired,
    done,
    async say(line: string) {
      await writer.write(new TextEncoder().encode(line + "\n"));
    },
    kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}

/** Counts waiters blocked in the kernel on `flock` of the file at `path` (Linux `/proc/locks`). */
export function kernelWaiters(path: string): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/locks");
  } catch {
    return undefined;
  }
  const ino = Deno.statSync(path).ino;
  let count = 0;
  for (const line of text.split("\n")) {
    // `12: -> FLOCK  ADVISORY  WRITE 4242 00:1f:123456 0 EOF`: blocked waiters carry `->`.
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== "->" || fields[2] !== "FLOCK") continue;
    if (fields[6]?.split(":")[2] === String(ino)) count++;
  }
  return count;
}

/** Counts lokt waiters queued for `name` under `root` (their tickets). */
export function loktWaiters(root: string, name: string): number {
  try {
    let count = 0;
    for (const entry of Deno.readDirSync(`${root}/queue/${name}`)) {
      if (entry.name.endsWith(".json")) count++;
    }
    return count;
  } catch {
    return 0;
  }
}

/**
 * Waits until `count()` reaches `want`. Where the count cannot be seen (`undefined`: no
 * `/proc/locks`), waits `blindMs` instead.
 */
export async function waitForCount(
  count: () => number | undefined,
  want: number,
  options: { timeoutMs?: number; blindMs?: number; failed?: Promise<unknown> } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let failure: unknown;
  const early = () => failure = new Error("a process ended before it was queued");
  options.failed?.then(early, early);
  for (;;) {
    const seen = count();
    if (seen === undefined) return await sleep(options.blindMs ?? 300);
    if (seen >= want) return;
    if (failure !== undefined) throw failure;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${want} waiters (saw ${seen})`);
    }
    await sleep(2);
  }
}

/** Acquisitions in order, each with its process's `req` (if any), `acq` and `rel` times. */
export interface Hold {
  proc: number;
  req?: number;
  acq: number;
  rel: number;
}

/**
 * Pairs every process's stamps into holds (a process may acquire many times: the k-th `acq`
 * goes with the k-th `rel` and the k-th `req`), sorted by acquisition time.
 */
export function holdsOf(stamps: readonly Stamp[]): Hold[] {
  const byProc = new Map<number, Stamp[]>();
  for (const s of stamps) byProc.set(s.proc, [...(byProc.get(s.proc) ?? []), s]);
  const holds: Hold[] = [];
  for (const [proc, list] of byProc) {
    const of = (kind: Stamp["kind"]) => list.filter((s) => s.kind === kind).map((s) => s.t);
    const reqs = of("req");
    const acqs = of("acq");
    const rels = of("rel");
    for (let i = 0; i < Math.min(acqs.length, rels.length); i++) {
      holds.push({ proc, req: reqs[i], acq: acqs[i], rel: rels[i] });
    }
  }
  return holds.sort((a, b) => a.acq - b.acq);
}

/** Hand-off gaps: for consecutive holds, next acquisition minus previous release. */
export function handoffs(holds: readonly Hold[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < holds.length; i++) gaps.push(holds[i].acq - holds[i - 1].rel);
  return gaps;
}
