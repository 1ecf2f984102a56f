/**
 * Reaches the halt points `a`, `b`, `a`, `a` in that order, printing each before it, with the
 * halt hook of the test entry point installed from `LOKT_HALT_AT` (unless the argument `bare` is
 * given). With the argument `scratch`, the second visit of `a` acts on a path in a rehearsal's
 * scratch root.
 */

import { haltPoint } from "../../src/testing/halt.ts";
import { HALT_ENV, installHaltTarget, parseHaltTarget } from "../helpers/halting_main.ts";

if (!Deno.args.includes("bare")) {
  const target = parseHaltTarget(Deno.env.get(HALT_ENV));
  if (target !== null) installHaltTarget(target);
}
const scratch = Deno.args.includes("scratch");
const points = ["a", "b", "a", "a"];
for (const [i, point] of points.entries()) {
  console.log(`reach ${point}`);
  const path = scratch && i === 2 ? "/r/tmp/rehearsal.1-2.ab/locks/x.json" : "/r/locks/x.json";
  haltPoint(point, path);
}
console.log("done");
