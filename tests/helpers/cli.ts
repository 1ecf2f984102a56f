/** Run the real CLI: as a process through `main.ts`, or in-process through `run(argv, world)`. */

import { run } from "../../src/cli/run.ts";
import type { World } from "../../src/cli/world.ts";
import type { ProcessProbe } from "../../src/identity/process.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { DarwinProbe } from "../../src/identity/proc_darwin.ts";
import { OpaqueProbe } from "../../src/identity/proc_other.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";

/** Absolute path of the repository. */
export const REPO = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(
  /\/$/,
  "",
);
/**
 * The real entry point: this checkout's `main.ts`, or the release bundle's `main.js` when
 * `LOKT_TEST_MAIN` names it (the gate runs the end-to-end tests again that way; see
 * scripts/bundle.ts).
 */
export const MAIN = Deno.env.get("LOKT_TEST_MAIN") || `${REPO}/main.ts`;
/** The CLI with the crash suite's halt hook: honours `LOKT_HALT_AT` (tests only). */
export const HALTING_MAIN = `${REPO}/tests/helpers/halting_main.ts`;

/** What a finished lokt invocation left behind. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A private temporary directory, removed by the returned function. */
export function tempDir(prefix = "lokt-test-"): { path: string; [Symbol.dispose](): void } {
  const path = Deno.realPathSync(Deno.makeTempDirSync({ prefix }));
  return {
    path,
    [Symbol.dispose]() {
      try {
        Deno.removeSync(path, { recursive: true });
      } catch {
        // already gone
      }
    },
  };
}

/** The sorted entry names of `dir`; none when it does not exist. */
export function dirNames(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** The environment a test holder runs in: its own agent id, detection off, no colours. */
export function holderEnv(
  root: string,
  agent: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    LOKT_ROOT: root,
    LOKT_NO_DETECT: "1",
    LOKT_AGENT_ID: agent,
    LOKT_OWNER: "tester",
    NO_COLOR: "1",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return { ...env, ...extra };
}

/**
 * Spawns `deno run -A main.ts ...args` (or another `entry`) with lokt's V8 flags, as it ships, and
 * waits for it.
 */
export async function lokt(
  args: string[],
  options: { env: Record<string, string>; cwd?: string; stdin?: string; entry?: string },
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, options.entry ?? MAIN, ...args],
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The process probe lokt uses on this OS, as `realWorld()` picks it. */
export function platformProbe(): ProcessProbe {
  switch (Deno.build.os) {
    case "linux":
    case "android":
      return new LinuxProbe();
    case "darwin":
      return new DarwinProbe();
    default:
      return new OpaqueProbe();
  }
}

/** Runs the CLI in this process with a controlled environment; stdout/stderr are captured. */
export async function loktInProcess(
  args: string[],
  options: {
    env: Record<string, string>;
    cwd?: string;
    now?: () => number;
    probe?: ProcessProbe;
    stdin?: string;
  },
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const probe = options.probe ?? platformProbe();
  const world: World = {
    env: (name) => options.env[name],
    envObject: () => ({ ...options.env }),
    cwd: () => options.cwd ?? Deno.cwd(),
    now: options.now ?? (() => Date.now()),
    pid: Deno.pid,
    os: Deno.build.os,
    probe: () => probe,
    userName: () => "tester",
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    errIsTerminal: () => false,
    readStdin: () => Promise.resolve(options.stdin ?? ""),
  };
  const code = await run(args, world);
  return { code, stdout, stderr };
}

/** Reads every audit line of a root (rotated files first) as parsed objects. */
export function auditEvents(root: string): Record<string, unknown>[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(root)) {
    const m = entry.name.match(/^audit\.log(?:\.(\d+))?$/);
    if (m) files.push(entry.name);
  }
  const order = (name: string) => (name === "audit.log" ? Infinity : Number(name.split(".").pop()));
  files.sort((a, b) => order(a) - order(b));
  const events: Record<string, unknown>[] = [];
  for (const file of files) {
    for (const line of Deno.readTextFileSync(`${root}/${file}`).split("\n")) {
      if (line.trim() !== "") events.push(JSON.parse(line));
    }
  }
  return events;
}

/** A pid that is certainly not running: one that just exited (and was reaped). */
export async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  await child.status;
  return child.pid;
}

/**
 * Starts `deno run -A main.ts ...args` (or another `entry`) with lokt's V8 flags in the background,
 * output piped.
 */
export function startLokt(
  args: string[],
  env: Record<string, string>,
  entry = MAIN,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, entry, ...args],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Waits for a process from {@link startLokt} and returns what it left behind. */
export async function finish(child: Deno.ChildProcess): Promise<CliResult> {
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Polls `check` every 10 ms until it returns a truthy value, for at most `ms`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | null | false,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One line of a stream, and when it arrived (`performance.now()`). */
export interface TimedLine {
  line: string;
  atMs: number;
}

/**
 * Reads `stream` line by line as it arrives: `lines` fills as lines come, `done` resolves at the
 * end of the stream (a last line without a newline counts).
 */
export function readLines(
  stream: ReadableStream<Uint8Array>,
): { lines: TimedLine[]; done: Promise<TimedLine[]> } {
  const lines: TimedLine[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      for (let cut = rest.indexOf("\n"); cut >= 0; cut = rest.indexOf("\n")) {
        lines.push({ line: rest.slice(0, cut), atMs: performance.now() });
        rest = rest.slice(cut + 1);
      }
    }
    if (rest !== "") lines.push({ line: rest, atMs: performance.now() });
    return lines;
  })();
  return { lines, done };
}
