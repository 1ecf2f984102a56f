/** Small statistics and process-timing helpers shared by the benchmarks. */

/** One timing, in milliseconds. */
export type Sample = number;

/** The q-quantile (0..1) of `values`, by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * Runs a command to completion with stdio discarded; returns its wall time in milliseconds.
 * Throws if `expectCode` is given and the command exits otherwise.
 */
export async function runTimed(
  cmd: string[],
  env: Record<string, string>,
  expectCode?: number,
): Promise<number> {
  const start = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = await child.status;
  const elapsed = performance.now() - start;
  if (expectCode !== undefined && status.code !== expectCode) {
    throw new Error(`\`${cmd.join(" ")}\` exited ${status.code}, expected ${expectCode}`);
  }
  return elapsed;
}
