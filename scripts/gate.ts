/**
 * The one gate: format check, lint, type check, doc tests (the examples of
 * mod.ts and README.md), then the test suite. CI runs it through `.ci/run`; run it before every
 * commit with `deno task test`. Ends with one line `N passed, M failed` (each gate step counts
 * as one check, each test as one).
 *
 *   deno task test                     everything
 *   deno task test -- tests/locks      only the tests under a path (steps still run)
 */

const repo = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const deno = Deno.execPath();
const testPaths = Deno.args.filter((a) => !a.startsWith("-"));
const reportDir = `${repo}/.ci/report`;
Deno.mkdirSync(reportDir, { recursive: true });
const junit = `${reportDir}/junit.xml`;

async function step(
  label: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<boolean> {
  console.log(`\n== ${label}: deno ${args.join(" ")}`);
  const start = performance.now();
  const status = await new Deno.Command(deno, {
    args,
    cwd: repo,
    env: { NO_COLOR: "1", ...env },
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  const seconds = ((performance.now() - start) / 1000).toFixed(1);
  console.log(`== ${label}: ${status.success ? "ok" : "FAILED"} (${seconds} s)`);
  return status.success;
}

/** Where this Deno keeps its module cache (`deno info --json`). */
async function moduleCache(): Promise<string> {
  const out = await new Deno.Command(deno, { args: ["info", "--json"], stderr: "null" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
}

let passed = 0;
let failed = 0;
const count = (ok: boolean) => ok ? passed++ : failed++;

count(await step("format", ["fmt", "--check"]));
count(await step("lint", ["lint"]));
count(await step("type check", ["check", "main.ts", "mod.ts", "src", "tests", "bench", "scripts"]));

// The examples in the library's JSDoc and the README's TypeScript block, type-checked and run.
// Their locks go to a scratch root. The config maps `@lokt/cli` to mod.ts and leaves out
// noUnusedLocals: doc tests import every export of the module, used or not.
const docRoot = Deno.makeTempDirSync({ prefix: "lokt-doc-test-" });
count(
  await step(
    "doc tests",
    ["test", "-A", "--doc", "--config", "scripts/doc_test.json", "mod.ts", "README.md"],
    { LOKT_ROOT: docRoot },
  ),
);
Deno.removeSync(docRoot, { recursive: true });

try {
  Deno.removeSync(junit);
} catch {
  // first run
}
// Tests spawn lokt and deno with a HOME of their own; one module cache for all of them (the MCP
// SDK and its test client come from npm) keeps each from fetching the packages again.
const cache: Record<string, string> = Deno.env.get("DENO_DIR")
  ? {}
  : { DENO_DIR: await moduleCache() };
// Test files run side by side, one per CPU and at most four (`DENO_JOBS` overrides). One file at
// a time kept about one CPU of two busy (740 s of CPU in 729 s); two at once on two CPUs took 529
// s. Four at once on two CPUs took longer (557 s).
const jobs = Deno.env.get("DENO_JOBS") ?? String(Math.min(navigator.hardwareConcurrency, 4));
const testsOk = await step(
  "tests",
  // `--no-check`: the type check above covers the tests already; checking them again cost ~5 s.
  ["test", "-A", "--no-check", "--parallel", `--junit-path=${junit}`, ...testPaths],
  { ...cache, DENO_JOBS: jobs },
);
let counted = false;
try {
  const xml = Deno.readTextFileSync(junit);
  const cases = [...xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)];
  for (const c of cases) count(!/<failure\b|<error\b/.test(c[2] ?? ""));
  counted = cases.length > 0;
} catch {
  // no report: the test run itself failed before writing one
}
if (!testsOk && (!counted || failed === 0)) failed++;

console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
