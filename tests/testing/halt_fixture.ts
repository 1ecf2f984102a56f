/**
 * Reaches the halt points `a`, `b`, `a`, `a` in that order, printing each before it. With the
 * argument `quiet`, the second visit of `a` happens inside `withoutHaltPoints`.
 */

import { haltPoint, withoutHaltPoints } from "../../src/testing/halt.ts";

const quiet = Deno.args[0] === "quiet";
const points = ["a", "b", "a", "a"];
for (const [i, point] of points.entries()) {
  console.log(`reach ${point}`);
  if (quiet && i === 2) await withoutHaltPoints(() => Promise.resolve(haltPoint(point)));
  else haltPoint(point);
}
console.log("done");
