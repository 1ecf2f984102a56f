/**
 * What the bundle `dist/lokt.js` exports: the whole CLI as one module. Deno spends about 0.15 ms
 * per module at start-up; bundled, a lokt invocation loads two modules instead of about 35.
 */

import { run } from "./run.ts";
import { realWorld } from "./world.ts";

/** Runs the CLI with `Deno.args` and exits with its code. */
export async function main(): Promise<never> {
  Deno.exit(await run(Deno.args, await realWorld()));
}
