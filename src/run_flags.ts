/**
 * The V8 flags lokt runs with, wherever it starts itself or is started by something it wrote: the
 * release binaries (`deno compile` embeds them), `deno task lokt`, the wrapper of
 * `deno task install`, the command lines of harness hooks and of the MCP server configuration, and
 * the benchmarks and end-to-end tests, which run lokt as it ships.
 *
 * - `--no-lazy` compiles every function of a module when the module is compiled, so V8's code
 *   cache (which Deno keeps per module) holds them all. By default a function is compiled when
 *   first called, in every run, and a command calls most of what it loads once.
 * - `--single-threaded` keeps V8 from handing compilation and garbage collection to helper
 *   threads: a command lives a few tens of milliseconds, too short for them to pay off.
 *
 * Measured on `guard x -- true`: 33 ms to 28 ms wall, 35 ms to 31 ms of CPU; `exists` about
 * 1 ms sooner (docs/performance.md). The price is a first run after an upgrade about 7 ms slower,
 * while the code cache is written. V8 refuses a code cache made under other flags, and Deno then
 * compiles the module again and overwrites its entry, so every process that loads lokt's modules
 * from one module cache should use the same flags: alternating cost about 6 ms per run.
 *
 * @module
 */

/** The flags, as `--v8-flags` takes them. */
export const V8_FLAGS = "--no-lazy,--single-threaded";

/** The `deno run` (or `deno compile`, `deno install`) argument that applies them. */
export const RUN_FLAG = `--v8-flags=${V8_FLAGS}`;

/** Deno's arguments before the main module, on a command line that runs lokt from its sources. */
export const RUN_ARGS: readonly string[] = ["run", "-A", RUN_FLAG];
