/**
 * `bench/wait_cpu.ts` runs: a guard that waits for a held name gets it once the holder lets go,
 * and each subject's CPU is printed; bad options are a usage error.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { type CliResult, holderEnv, lokt, tempDir } from "../helpers/cli.ts";

const SCRIPT = decodeURIComponent(new URL("../../bench/wait_cpu.ts", import.meta.url).pathname);

/** Runs the script as the CLI's tests run lokt (its own environment, no colours). */
async function runScript(args: string[]): Promise<CliResult> {
  using dir = tempDir();
  return await lokt(args, { env: holderEnv(dir.path, "bench"), entry: SCRIPT });
}

Deno.test("bench/wait_cpu.ts measures a free name, a held one and the empty script", async () => {
  const r = await runScript(["--rounds", "1", "--waits", "0,200"]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assertEquals(lines.map((line) => line.split(/\s{2,}/)[0]), [
    "deno run empty.ts",
    "guard --wait, held 0 ms",
    "guard --wait, held 200 ms",
  ]);
  for (const line of lines) {
    assert(/user \d+\.\d ms, system \d+\.\d ms, total \d+\.\d ms \(mean of 1\)$/.test(line), line);
  }
});

Deno.test("bench/wait_cpu.ts refuses bad options with a usage line", async () => {
  const r = await runScript(["--waits", "0,soon"]);
  assertEquals(r.code, 64);
  assert(r.stderr.includes("usage: deno run -A bench/wait_cpu.ts"), r.stderr);
});
