/**
 * Named moments of one process's run, for finding where its time goes. Each step worth timing
 * calls {@link phase} with a short label. In a normal run that is one check of an empty slot:
 * only the CLI's entry installs a sink, and only when `LOKT_PHASES` is set (then every mark goes
 * to stderr with its `performance.now()`). `bench/phases.ts` runs a command many times with it
 * and prints the median time between marks. `docs/performance.md` lists the marks.
 *
 * @module
 */

/** Receives each mark's label and its `performance.now()`. */
export type PhaseSink = (label: string, atMs: number) => void;

let sink: PhaseSink | undefined;

/** Marks reaching `label`, if a sink is installed. */
export function phase(label: string): void {
  if (sink !== undefined) sink(label, performance.now());
}

/** Installs the sink (undefined removes it). */
export function setPhaseSink(fn: PhaseSink | undefined): void {
  sink = fn;
}
