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
 * Runs a command to completion under bash with stdio discarded; returns the CPU time (user +
 * system, milliseconds) it and the processes it waited for used, from bash's `times` (getrusage
 * of its children, 1 ms resolution). Throws if `expectCode` is given and the command exits
 * otherwise.
 */
export async function runCpu(
  cmd: string[],
  env: Record<string, string>,
  expectCode?: number,
): Promise<number> {
  const out = await new Deno.Command("bash", {
    args: ["-c", '"$@" </dev/null >/dev/null 2>&1; code=$?; times; exit $code', "bash", ...cmd],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (expectCode !== undefined && out.code !== expectCode) {
    throw new Error(`\`${cmd.join(" ")}\` exited ${out.code}, expected ${expectCode}`);
  }
  // Two lines: bash's own user and system times, then its children's.
  const line = new TextDecoder().decode(out.stdout).trim().split("\n")[1] ?? "";
  const times = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (times.length !== 2) throw new Error(`cannot read bash's times: ${line}`);
  return (times[0] + times[1]) * 1000;
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
