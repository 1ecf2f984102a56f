/**
 * The lokt command line with the crash suite's halt hook installed: `LOKT_HALT_AT=point[:n]`
 * makes the process kill itself with SIGKILL the n-th time (default 1) it reaches `point`. Only
 * tests run this entry; `main.ts`, the library and the published package never read the
 * variable.
 */

import { main } from "../../src/cli/entry.ts";
import { setHaltHook } from "../../src/testing/halt.ts";

/** The environment variable that names the halt point. */
export const HALT_ENV = "LOKT_HALT_AT";

/** What `LOKT_HALT_AT` asks for. */
export interface HaltTarget {
  point: string;
  n: number;
}

/** Parses `point[:n]`; null when the text names no point. */
export function parseHaltTarget(text: string | undefined): HaltTarget | null {
  const value = text?.trim() ?? "";
  if (value === "") return null;
  const match = value.match(/^([^:]+)(?::(\d+))?$/);
  if (!match) return null;
  const n = match[2] === undefined ? 1 : Number(match[2]);
  return n > 0 ? { point: match[1], n } : null;
}

/** Installs a hook that kills this process at the n-th visit of `target.point`. */
export function installHaltTarget(target: HaltTarget): void {
  let reached = 0;
  setHaltHook((point) => {
    if (point !== target.point || ++reached < target.n) return;
    try {
      Deno.stderr.writeSync(new TextEncoder().encode(`lokt: halted at ${point}\n`));
    } catch {
      // stderr closed: the exit signal alone tells the suite
    }
    Deno.kill(Deno.pid, "SIGKILL");
  });
}

if (import.meta.main) {
  const target = parseHaltTarget(Deno.env.get(HALT_ENV));
  if (target !== null) installHaltTarget(target);
  await main();
}
