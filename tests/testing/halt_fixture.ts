/** Reaches the halt points `a`, `b`, `a`, `a` in that order, printing each before it. */

import { haltPoint } from "../../src/testing/halt.ts";

for (const point of ["a", "b", "a", "a"]) {
  console.log(`reach ${point}`);
  haltPoint(point);
}
console.log("done");
