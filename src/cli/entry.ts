/** The process entry of the CLI: what `main.ts` runs. */

import { phase, setPhaseSink } from "../phases.ts";
import { run } from "./run.ts";
import { realWorld } from "./world.ts";

/**
 * `LOKT_PHASES=1`: every phase mark on stderr, as `lokt-phase <ms since start> <label>`, after
 * one `lokt-phase-origin <epoch ms>` line (`performance.timeOrigin`).
 */
function tracePhases(): void {
  if (!Deno.env.get("LOKT_PHASES")) return;
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(`lokt-phase-origin ${performance.timeOrigin}\n`));
  setPhaseSink((label, atMs) => {
    Deno.stderr.writeSync(encoder.encode(`lokt-phase ${atMs.toFixed(3)} ${label}\n`));
  });
}

/** Runs the CLI with `Deno.args` and exits with its code. */
export async function main(): Promise<never> {
  tracePhases();
  phase("main");
  const code = await run(Deno.args, await realWorld());
  phase("exit");
  Deno.exit(code);
}
