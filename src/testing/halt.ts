/**
 * Named halt points for the crash-consistency suite (`tests/crash/`). Each mutating step of the
 * lock engine and the audit writer calls {@link haltPoint} with a stable dotted name and the path
 * it acts on. In lokt itself that is one check of an empty slot: nothing in `src/` installs a
 * hook, and nothing here reads the environment, so no variable can make a user's process stop.
 * The test suite's own entry point (`tests/helpers/halting_main.ts`) installs a hook that kills
 * the process at a chosen point. `docs/crash-consistency.md` lists the points.
 *
 * @module
 */

/** Called at every halt point once installed; receives the point's name. */
export type HaltHook = (point: string) => void;

let hook: HaltHook | undefined;

/**
 * A rehearsal (`src/locks/rehearse.ts`) works in a scratch root `tmp/rehearsal.<tag>/` of the
 * real root. Its steps are the same steps, so they reach the same points; they are reported as
 * `rehearsal.<point>`, so a kill can be aimed at the rehearsal or at the real step separately,
 * and one never counts as a visit of the other. Deciding by the path, not by a process-wide
 * switch, keeps a renewal that runs during a rehearsal on its own names.
 */
const SCRATCH = /\/tmp\/rehearsal\.[^/]+\/(?:locks|freezes|fences|queue|tmp)\//;

/** Reports reaching `point` while acting on `path` to the installed hook, if any. */
export function haltPoint(point: string, path = ""): void {
  if (hook === undefined) return;
  hook(SCRATCH.test(path) ? `rehearsal.${point}` : point);
}

/** Installs the hook of the test suite's entry point (undefined removes it). */
export function setHaltHook(fn: HaltHook | undefined): void {
  hook = fn;
}
