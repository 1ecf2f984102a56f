/**
 * The entry of the bundle in `dist/` (`dist/entry.js`, plus shared and per-command chunks). Deno
 * spends about 0.15 ms per module at start-up; bundled, a lokt invocation loads a handful of
 * modules instead of dozens.
 */

import { run } from "./run.ts";
import { realWorld } from "./world.ts";

/** Runs the CLI with `Deno.args` and exits with its code. */
export async function main(): Promise<never> {
  Deno.exit(await run(Deno.args, await realWorld()));
}
