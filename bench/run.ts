/**
 * The benchmark suite (`deno task bench`): start-up, guard overhead, hand-off latency,
 * throughput and fairness under contention, and peak memory, each beside `flock(1)` and
 * `deno run` of an empty script, measured in one run. Prints the machine, one table and its
 * notes, and writes the same Markdown to `bench/results/latest.md`. Run on demand on a quiet
 * machine; `docs/performance.md` explains the method and keeps the current figures.
 *
 *   deno task bench                     full run (several minutes)
 *   deno task bench --quick             tiny sizes: checks that every benchmark still runs
 *   deno task bench --only handoff,memory
 *   deno task bench --out FILE          write the Markdown elsewhere
 *   LOKT_BENCH_MAIN=release deno task bench   every benchmark on the release bundle
 *
 * Benchmarks: startup (start-up and guard overhead), handoff, contention (throughput and
 * fairness), memory, mcp (`lokt mcp`: start-up, acquire+release round trip, hand-off).
 */

import { benchContention, FULL as CONTENTION, QUICK as CONTENTION_QUICK } from "./contention.ts";
import { benchHandoff, FULL as HANDOFF, QUICK as HANDOFF_QUICK } from "./handoff.ts";
import { describeMachine, loadAverage } from "./machine.ts";
import { benchMcp, FULL as MCP, QUICK as MCP_QUICK } from "./mcp.ts";
import { benchMemory, FULL as MEMORY, QUICK as MEMORY_QUICK } from "./memory.ts";
import { MAIN, RELEASE_FORM, REPO, SOURCES_FORM, V8_FLAGS } from "./setup.ts";
import { benchStartup, FULL as STARTUP, QUICK as STARTUP_QUICK } from "./startup.ts";
import { renderTable, type Section } from "./table.ts";

const BENCHMARKS = ["startup", "handoff", "contention", "memory", "mcp"] as const;
type Benchmark = typeof BENCHMARKS[number];

function option(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const quick = Deno.args.includes("--quick");
const out = option("out") ?? `${REPO}/bench/results/latest.md`;
const only = (option("only")?.split(",") ?? [...BENCHMARKS]) as Benchmark[];
const unknown = only.filter((b) => !BENCHMARKS.includes(b));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.join(", ")}`);
  Deno.exit(64);
}

function gitDescription(): string {
  try {
    const run = (...args: string[]) =>
      new TextDecoder().decode(
        new Deno.Command("git", { args, cwd: REPO, stderr: "null" }).outputSync().stdout,
      ).trim();
    const head = run("rev-parse", "--short", "HEAD");
    return head === ""
      ? "not a git checkout"
      : `${head}${run("status", "--porcelain") ? " (modified)" : ""}`;
  } catch {
    return "unknown";
  }
}

const header = [
  `lokt benchmarks, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${
    quick ? " (--quick: tiny sizes, figures meaningless)" : ""
  }`,
  "",
  ...describeMachine().map((line) => `- ${line}`),
  SOURCES_FORM
    ? `- Checkout: ${gitDescription()}; the CLI runs from src/ (main.ts), and the start-up rows marked "release bundle" from the release bundle of the same sources`
    : RELEASE_FORM
    ? `- Checkout: ${gitDescription()}; the CLI runs from its release bundle (LOKT_BENCH_MAIN=release, scripts/bundle.ts)`
    : `- The CLI runs ${MAIN} (LOKT_BENCH_MAIN); the benchmarks are those of ${gitDescription()}`,
  V8_FLAGS === ""
    ? "- lokt's processes run with Deno's default V8 flags (LOKT_BENCH_V8_FLAGS)"
    : `- lokt's processes run with --v8-flags=${V8_FLAGS} (src/run_flags.ts, as shipped); the empty script with Deno's defaults`,
  `- Load average before: ${loadAverage()}`,
];
console.log(header.join("\n"));

const sections: Section[] = [];
const failures: string[] = [];
const started = performance.now();
for (const bench of only) {
  console.error(`running ${bench}...`);
  try {
    switch (bench) {
      case "startup":
        sections.push(await benchStartup(quick ? STARTUP_QUICK : STARTUP));
        break;
      case "handoff":
        sections.push(await benchHandoff(quick ? HANDOFF_QUICK : HANDOFF));
        break;
      case "contention":
        sections.push(await benchContention(quick ? CONTENTION_QUICK : CONTENTION));
        break;
      case "memory":
        sections.push(await benchMemory(quick ? MEMORY_QUICK : MEMORY));
        break;
      case "mcp":
        sections.push(await benchMcp(quick ? MCP_QUICK : MCP));
        break;
    }
  } catch (error) {
    // One broken benchmark must not throw away the others' figures.
    const why = error instanceof Error ? error.message : String(error);
    failures.push(`${bench}: FAILED: ${why.split("\n")[0]}`);
    console.error(`${bench} failed: ${why}`);
  }
}

const footer = [
  `- Load average after: ${loadAverage()}; the run took ${
    ((performance.now() - started) / 1000).toFixed(0)
  } s`,
];
const table = renderTable(sections.flatMap((s) => s.rows));
const notes = [...failures, ...sections.flatMap((s) => s.notes)].map((n) => `- ${n}`);
console.log(["", table, "", ...notes, ...footer].join("\n"));

const markdown = [...header, "", table, "", ...notes, ...footer, ""].join("\n");
Deno.mkdirSync(out.replace(/\/[^/]*$/, "") || ".", { recursive: true });
Deno.writeTextFileSync(out, markdown);
console.error(`written to ${out}`);
if (failures.length > 0) Deno.exit(1);
