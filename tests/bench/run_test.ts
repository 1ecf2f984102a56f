/**
 * The benchmark suite must not rot: run every benchmark at tiny sizes and check that the one
 * table comes out, on stdout and in the file. The figures themselves are never asserted.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { REPO, tempDir } from "../helpers/cli.ts";

/** Whether GNU time runs here and reports a peak RSS (`-f %M`). */
function gnuTimeWorks(): boolean {
  try {
    return new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "-o", "/dev/null", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("deno task bench --quick runs every benchmark and writes the table it prints", async () => {
  using dir = tempDir();
  const out = `${dir.path}/latest.md`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/bench/run.ts`, "--quick", "--out", out],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(result.stdout);
  const stderr = new TextDecoder().decode(result.stderr);
  assertEquals(result.code, 0, stderr);

  const written = Deno.readTextFileSync(out);
  const table = written.split("\n").filter((line) => line.startsWith("|")).join("\n");
  assert(table.length > 0, "the file holds a table");
  assert(stdout.includes(table), "stdout prints the table that was written");
  assertMatch(written, /^- CPU: .+, \d+ logical CPUs$/m);
  assertMatch(written, /^- Deno: \d+\.\d+\.\d+/m);
  for (
    const row of [
      /^\| start-up, wall +\| lokt exists x /m,
      /^\| start-up, wall +\| lokt status /m,
      /^\| start-up, wall +\| lokt lock x \(free\) /m,
      /^\| start-up, wall +\| lokt unlock x \(held\) /m,
      /^\| start-up, wall +\| lokt guard x -- true /m,
      /^\| start-up, CPU +\| lokt exists x /m,
      /^\| start-up, CPU +\| lokt guard x -- true /m,
      /^\| guard overhead +\| lokt guard x -- true /m,
      /^\| start-up, wall +\| lokt exists x \(release bundle\) /m,
      /^\| start-up, wall +\| lokt lock x \(free\) \(release bundle\) /m,
      /^\| start-up, CPU +\| lokt guard x -- true \(release bundle\) /m,
      /^\| guard overhead +\| lokt guard x -- true \(release bundle\) /m,
      /^\| start-up, wall +\| flock in Deno f true \(a Deno guard's floor\) /m,
      /^\| start-up, CPU +\| flock in Deno f true \(a Deno guard's floor\) /m,
      /^\| hand-off, 1 waiter +\| lokt, library waiters /m,
      /^\| hand-off, 2 queued waiters +\| lokt, library waiters /m,
      /^\| hand-off, 2 queued waiters +\| lokt guard --wait, lock to lock /m,
      /^\| hand-off, 2 queued waiters +\| kernel flock from Deno /m,
      /^\| hand-off, 1 waiter +\| flock in Deno -- bash, command to command /m,
      /^\| queue order, 2 queued waiters +\| lokt, library waiters +\| 1 +\| 0 of 2 out of order /m,
      /^\| 2 workers x 1 guarded 5 ms sections +\| lokt guard x --wait -- sleep, wall /m,
      /^\| 2 workers x 1 guarded 5 ms sections +\| flock in Deno f sleep, wall /m,
      /^\| throughput, 2 processes \(CLI\) +\| lokt guard x --wait -- true /m,
      /^\| throughput, 2 processes \(in-process\) +\| lokt library /m,
      /^\| hand-off, 2 processes looping \(warm\) +\| lokt, library waiters /m,
      /^\| fairness, 2 processes, hold 5 ms +\| lokt library: longest wait \/ ideal /m,
      /^\| mcp +\| lokt mcp: spawn, initialize, first tool result /m,
      /^\| mcp +\| acquire \+ release over stdio /m,
      /^\| mcp +\| hand-off between two servers /m,
    ]
  ) assertMatch(table, row);
  // Peak RSS needs GNU time; without it the suite says so instead, and only then.
  if (gnuTimeWorks()) {
    assertMatch(table, /^\| peak RSS +\| lokt guard x -- true /m);
    assertMatch(table, /^\| peak RSS +\| lokt guard x -- true \(release bundle\) /m);
    assertMatch(table, /^\| peak RSS +\| flock in Deno f true \(a Deno guard's floor\) /m);
    assertNotMatch(written, /peak RSS: skipped/);
  } else {
    assertMatch(written, /^- peak RSS: skipped \(GNU time not found at \/usr\/bin\/time\)\.$/m);
    assertNotMatch(table, /^\| peak RSS /m);
  }
  assertNotMatch(written, /OVERLAPPING/);
  assertNotMatch(table, /\| NaN|n\/a/);
});

Deno.test("LOKT_BENCH_MAIN=release runs the benchmarks on the release bundle and leaves it nowhere", async () => {
  using dir = tempDir();
  const out = `${dir.path}/latest.md`;
  const scratch = `${dir.path}/tmp`;
  Deno.mkdirSync(scratch);
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO}/bench/run.ts`,
      "--quick",
      "--only",
      "startup,handoff",
      "--out",
      out,
    ],
    env: { NO_COLOR: "1", LOKT_BENCH_MAIN: "release", TMPDIR: scratch },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
  const written = Deno.readTextFileSync(out);
  assertMatch(written, /^- Checkout: .+; the CLI runs from its release bundle /m);
  assertMatch(written, /^\| start-up, wall +\| lokt guard x -- true /m);
  assertMatch(written, /^\| hand-off, 2 queued waiters +\| lokt guard --wait, lock to lock /m);
  // The bundle is what every row runs, so no row is marked as the other form.
  assertNotMatch(written, /release bundle\)/);
  assertEquals([...Deno.readDirSync(scratch)].map((entry) => entry.name), []);
});

Deno.test("LOKT_BENCH_MAIN=release builds one bundle and hands its path to the processes the benchmarks start", async () => {
  using dir = tempDir();
  // What a worker sees: it imports bench/setup.ts too, with the environment it inherits.
  const script = `import { MAIN } from "${REPO}/bench/setup.ts";
    console.log(JSON.stringify({ main: MAIN, inherited: Deno.env.get("LOKT_BENCH_MAIN") }));`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { NO_COLOR: "1", LOKT_BENCH_MAIN: "release", TMPDIR: dir.path },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
  const seen = JSON.parse(new TextDecoder().decode(result.stdout));
  assertMatch(seen.main, /\/lokt-bench-bundle-[^/]+\/bundle\/main\.js$/);
  assertEquals(seen.inherited, seen.main);
});
