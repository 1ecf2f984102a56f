/**
 * The lokt command line with steps of the locking protocols switched off, for the negative
 * controls of race tests that run the real entry point: `LOKT_SABOTAGE=skip-name-lock[,...]`
 * (the names of `src/testing/sabotage.ts`). Only tests run this entry; `main.ts`, the library
 * and the published package never read the variable.
 */

import { main } from "../../src/cli/entry.ts";
import { type Sabotage, setSabotage } from "../../src/testing/sabotage.ts";

/** The environment variable that names the steps to switch off. */
export const SABOTAGE_ENV = "LOKT_SABOTAGE";

if (import.meta.main) {
  const steps = (Deno.env.get(SABOTAGE_ENV) ?? "").split(",").map((s) => s.trim());
  setSabotage(steps.filter((s) => s !== "") as Sabotage[]);
  await main();
}
