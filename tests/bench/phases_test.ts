/**
 * The phase breakdown (`LOKT_PHASES`, `bench/phases.ts`): lokt prints its marks only when asked,
 * in the order a command reaches them, and the breakdown's arithmetic adds up to the wall time.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { phasesOf } from "../../bench/phases.ts";

function labels(stderr: string): string[] {
  return [...stderr.matchAll(/^lokt-phase \S+ (\S+)$/gm)].map((m) => m[1]);
}

Deno.test("LOKT_PHASES makes guard print its marks on stderr in the order it reaches them", async () => {
  using dir = tempDir();
  const env = holderEnv(`${dir.path}/root`, "phases", { LOKT_PHASES: "1" });
  const result = await lokt(["guard", "g", "--", "true"], { env });
  assertEquals(result.code, 0, result.stderr);
  assert(/^lokt-phase-origin \d+(\.\d+)?$/m.test(result.stderr), result.stderr);
  const seen = labels(result.stderr);
  for (const expected of ["main", "parsed", "loaded", "acquired", "spawned", "released", "exit"]) {
    assert(seen.includes(expected), `missing ${expected} in ${seen.join(", ")}`);
  }
  const order = ["main", "loaded", "acquired", "spawned", "command-exited", "released", "exit"];
  const at = order.map((label) => seen.indexOf(label));
  assertEquals([...at].sort((a, b) => a - b), at, `out of order: ${seen.join(", ")}`);
});

Deno.test("without LOKT_PHASES a command prints no marks", async () => {
  using dir = tempDir();
  const result = await lokt(["guard", "g", "--", "true"], {
    env: holderEnv(`${dir.path}/root`, "phases"),
  });
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stderr, "");
});

Deno.test("phasesOf splits a run at its marks and the phases add up to spawn-to-end", () => {
  const stderr = [
    "lokt-phase-origin 1000.5",
    "lokt-phase 6.000 main",
    "noise from the command",
    "lokt-phase 7.250 parsed",
    "lokt-phase 9.000 exit",
  ].join("\n");
  const phases = phasesOf(stderr, 990.5, 1012.5);
  assertEquals(phases, [
    ["spawn to origin", 10],
    ["origin to main", 6],
    ["parsed", 1.25],
    ["exit", 1.75],
    ["exit (after the last mark)", 3],
  ]);
  assertEquals(phases.reduce((sum, [, ms]) => sum + ms, 0), 22);
});
