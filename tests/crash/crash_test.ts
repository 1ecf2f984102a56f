/**
 * The CI-sized crash-consistency run: 500 kills of real lokt commands at every named halt point
 * and after random delays, each followed by the invariant checks and a recovery. A fixed amount of
 * work, however long it takes: each victim is bounded in time (a hang fails its case), the run is
 * not. `deno task crash` runs the full 5,000-kill version; docs/crash-consistency.md explains both.
 */

import { formatReport, passed, runCrashSuite, sourcePoints } from "./driver.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

const KILLS = 500;

Deno.test({
  name: "lokt killed at every halt point and at random moments leaves only states it can recover",
  // The checks read /proc to tell live processes from dead ones.
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const seed = Number(Deno.env.get("LOKT_CRASH_SEED") ?? 20260501);
    const report = await runCrashSuite({
      kills: KILLS,
      concurrency: 8,
      seed,
      delayShare: 0.15,
      randomPointShare: 0.15,
    });
    console.log(formatReport(report));
    const kills = report.results.filter((r) => r.killed).length;
    assert(passed(report), "some cases failed: see the FAIL lines above");
    // Four in five cases kill their victim; fewer than one in four means victims stopped
    // reaching their halt points.
    assert(
      kills >= KILLS,
      `only ${kills} kills in ${report.results.length} cases: victims miss their halt points`,
    );
  },
});

Deno.test("docs/crash-consistency.md lists exactly the halt points in src/", () => {
  const doc = Deno.readTextFileSync(new URL("../../docs/crash-consistency.md", import.meta.url));
  const section = doc.split("## Halt points")[1].split("\n## ")[0];
  const listed = [...section.matchAll(/^\| `([a-z0-9.-]+)`/gm)].map((m) => m[1]).sort();
  assertEquals(listed, sourcePoints());
});
