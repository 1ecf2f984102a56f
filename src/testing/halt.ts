/**
 * Named halt points for the crash-consistency suite (`tests/crash/`). Each mutating step of the
 * lock engine and the audit writer calls {@link haltPoint} with a stable dotted name. Normally
 * that is one check of a cached value. With `LOKT_HALT_AT=point[:n]` in the environment, the
 * process kills itself with SIGKILL the n-th time (default 1) it reaches `point`, so the suite
 * can stop lokt at an exact step and check what it left behind. `docs/crash-consistency.md`
 * lists the points.
 *
 * @module
 */

/** The environment variable that names the halt point. */
export const HALT_ENV = "LOKT_HALT_AT";

interface Target {
  point: string;
  n: number;
}

/** Undefined until the environment has been read; null when no halt is asked for. */
let target: Target | null | undefined;
let reached = 0;
/** Rehearsals in progress (see {@link withoutHaltPoints}). */
let quiet = 0;

/** Parses `point[:n]`; null when the text names no point. Pure. */
export function parseHaltTarget(text: string | undefined): Target | null {
  const value = text?.trim() ?? "";
  if (value === "") return null;
  const match = value.match(/^([^:]+)(?::(\d+))?$/);
  if (!match) return null;
  const n = match[2] === undefined ? 1 : Number(match[2]);
  return n > 0 ? { point: match[1], n } : null;
}

function readTarget(): Target | null {
  try {
    // Ask first: a library user without env access must get neither a prompt nor an error.
    const access = Deno.permissions.querySync({ name: "env", variable: HALT_ENV });
    return access.state === "granted" ? parseHaltTarget(Deno.env.get(HALT_ENV)) : null;
  } catch {
    return null;
  }
}

/** Kills this process with SIGKILL if `LOKT_HALT_AT` names `name` and this is its n-th visit. */
export function haltPoint(name: string): void {
  if (target === null || quiet > 0) return;
  target ??= readTarget();
  if (target === null || target.point !== name || ++reached < target.n) return;
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(`lokt: halted at ${name}\n`));
  } catch {
    // stderr closed: the exit signal alone tells the suite
  }
  Deno.kill(Deno.pid, "SIGKILL");
}

/**
 * Runs `fn` with every halt point passed over: a rehearsal on scratch files (`rehearse.ts`) must
 * neither stop the process nor count as a visit. Halt points reached meanwhile by other work of
 * the same process are passed over too; the crash suite runs one lokt operation per process.
 */
export async function withoutHaltPoints<T>(fn: () => Promise<T>): Promise<T> {
  quiet++;
  try {
    return await fn();
  } finally {
    quiet--;
  }
}
