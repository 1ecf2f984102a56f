/** The process entry of the CLI: what `main.ts` runs. */

import { run } from "./run.ts";
import { realWorld } from "./world.ts";

/** Runs the CLI with `Deno.args` and exits with its code. */
export async function main(): Promise<never> {
  Deno.exit(await run(Deno.args, await realWorld()));
}
