/** Paths, environments and command lines shared by the benchmarks. */

import { V8_FLAGS as LOKT_V8_FLAGS } from "../src/run_flags.ts";
import { buildBundle } from "../scripts/bundle.ts";

/** Absolute path of the repository. */
export const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** The Deno binary running the benchmarks; every `deno run` below uses the same one. */
export const DENO = Deno.execPath();
/** An empty script: the floor of `deno run`. */
export const EMPTY = `${REPO}/bench/empty.ts`;
/** flock(1) written in Deno: the floor of any Deno guard (see the script). */
export const DENO_FLOCK = `${REPO}/bench/deno_flock.ts`;
/** The benchmark worker: waits for a lock (lokt library or kernel flock) and reports times. */
export const WORKER = `${REPO}/bench/worker.ts`;

/**
 * The release form of this checkout, built once when first asked for (scripts/bundle.ts) into a
 * temporary directory that goes when the benchmarks end; returns its `main.js`.
 */
export async function releaseMain(): Promise<string> {
  bundled ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "lokt-bench-bundle-" });
    globalThis.addEventListener("unload", () => removeDir(dir));
    const report = await buildBundle(`${dir}/bundle`);
    return `${report.dir}/main.js`;
  })();
  return await bundled;
}
let bundled: Promise<string> | undefined;

const chosenMain = Deno.env.get("LOKT_BENCH_MAIN");

/** Whether the benchmarks run the release bundle (`LOKT_BENCH_MAIN=release`). */
export const RELEASE_FORM: boolean = chosenMain === "release";

/**
 * The CLI's entry for every benchmark: this checkout's `main.ts` (its sources); with
 * `LOKT_BENCH_MAIN=release`, the release bundle of this checkout (what the binaries run); or
 * another `main.ts` named in `LOKT_BENCH_MAIN` (to measure an older commit with the same
 * benchmarks, e.g. a `git archive` of it). The start-up benchmark measures the release bundle
 * beside it in any case.
 */
export const MAIN: string = chosenMain === "release"
  ? await releaseMain()
  : chosenMain || `${REPO}/main.ts`;
if (chosenMain === "release") {
  // The processes the benchmarks start (workers import this module too) get the bundle built
  // here, not a bundle each.
  Deno.env.set("LOKT_BENCH_MAIN", MAIN);
}

/** Whether the benchmarks run this checkout's sources (`main.ts`), as a checkout does. */
export const SOURCES_FORM: boolean = MAIN === `${REPO}/main.ts`;

/**
 * The release bundle's `main.js` to measure beside the sources, when the sources are what the
 * benchmarks run; otherwise undefined (they run the bundle already, or another tree).
 */
export async function releaseBeside(): Promise<string | undefined> {
  return SOURCES_FORM ? await releaseMain() : undefined;
}

/**
 * The V8 flags of every process that runs lokt's code in a benchmark (the CLI, the library
 * workers): lokt's own (src/run_flags.ts), as its binaries and launch lines run it. Set
 * `LOKT_BENCH_V8_FLAGS` to run with others, or to "" for Deno's defaults. The empty script and
 * the floor always run with Deno's defaults.
 */
export const V8_FLAGS: string = Deno.env.get("LOKT_BENCH_V8_FLAGS") ?? LOKT_V8_FLAGS;

/** `run -A --v8-flags=...`: what precedes the script of every process running lokt's code. */
export const RUN_ARGS: readonly string[] = [
  "run",
  "-A",
  ...(V8_FLAGS === "" ? [] : [`--v8-flags=${V8_FLAGS}`]),
];

/** `deno run -A --v8-flags=...`, the start of every command line that runs lokt's code. */
export function denoRun(): string[] {
  return [DENO, ...RUN_ARGS];
}

/** `deno run -A --v8-flags=... main.ts ...args`: the CLI as its launch lines run it. */
export function lokt(...args: string[]): string[] {
  return loktFrom(MAIN, ...args);
}

/** {@link lokt} with another entry, e.g. the release bundle's `main.js`. */
export function loktFrom(main: string, ...args: string[]): string[] {
  return [...denoRun(), main, ...args];
}

/** `deno run -A bench/empty.ts`. */
export function emptyDeno(): string[] {
  return [DENO, "run", "-A", EMPTY];
}

/**
 * `deno run -A bench/deno_flock.ts FILE ...cmd`: the command under the kernel lock of `file`,
 * from Deno, with Deno's default flags (as the empty script).
 */
export function denoFlock(file: string, ...cmd: string[]): string[] {
  return [DENO, "run", "-A", DENO_FLOCK, file, ...cmd];
}

/** The row of `denoFlock(f, "true")` in the start-up and peak RSS tables. */
export const DENO_FLOCK_ROW = "flock in Deno f true (a Deno guard's floor)";

/** The environment of every lokt process in a benchmark: a private root, detection off. */
export function loktEnv(root: string, agent = "bench"): Record<string, string> {
  return {
    LOKT_ROOT: root,
    LOKT_NO_DETECT: "1",
    LOKT_AGENT_ID: agent,
    LOKT_OWNER: "bench",
    NO_COLOR: "1",
  };
}

/** A fresh temporary directory; remove it with {@link removeDir}. */
export function makeDir(prefix: string): string {
  return Deno.realPathSync(Deno.makeTempDirSync({ prefix: `lokt-bench-${prefix}-` }));
}

/** Removes a directory tree, ignoring one that is already gone. */
export function removeDir(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // already gone
  }
}

/** Quotes a word for `bash -c`. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command line as `bash -c` text. */
export function shellLine(cmd: readonly string[]): string {
  return cmd.map(shellQuote).join(" ");
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `cmd args...` runs here and succeeds. */
export function hasCommand(cmd: string, ...args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** Whether `bash` has `$EPOCHREALTIME` (bash 5 or later), which the flock(1) rows need. */
export function bashHasEpochTime(): boolean {
  try {
    const out = new Deno.Command("bash", { args: ["-c", "echo $EPOCHREALTIME"], stderr: "null" })
      .outputSync();
    return /^\d+[.,]\d+$/.test(new TextDecoder().decode(out.stdout).trim());
  } catch {
    return false;
  }
}
