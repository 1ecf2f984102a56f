/**
 * Where a command's time goes: runs lokt commands with `LOKT_PHASES=1`, beside a script that only
 * marks its first moment (the floor of any Deno program), in interleaved rounds, and prints the
 * median time of each phase. A phase is the time from the previous mark to its own; `spawn to
 * origin` ends at `performance.timeOrigin`, `origin to main` covers loading and evaluating the
 * modules main.ts imports, and `exit` runs from the last mark until the parent sees the process
 * end.
 *
 *   deno run -A bench/phases.ts [--rounds 30] [--only guard,exists]
 */

import { median } from "./stats.ts";
import { DENO, lokt, loktEnv, makeDir, removeDir, REPO, wallMs } from "./setup.ts";

/** One run's phases, in order: label and milliseconds. */
export type Phases = [string, number][];

/** Turns one run's stderr and its spawn and end times (epoch ms) into phases. */
export function phasesOf(stderr: string, spawnedMs: number, endedMs: number): Phases {
  const origin = Number(stderr.match(/^lokt-phase-origin (\S+)$/m)?.[1]);
  const marks = [...stderr.matchAll(/^lokt-phase (\S+) (\S+)$/gm)].map((m) => ({
    label: m[2],
    atMs: Number(m[1]),
  }));
  if (!Number.isFinite(origin) || marks.length === 0) throw new Error("no phase marks");
  const phases: Phases = [["spawn to origin", origin - spawnedMs]];
  let last = 0;
  for (const [i, mark] of marks.entries()) {
    phases.push([i === 0 ? `origin to ${mark.label}` : mark.label, mark.atMs - last]);
    last = mark.atMs;
  }
  phases.push(["exit (after the last mark)", endedMs - (origin + last)]);
  return phases;
}

interface Subject {
  key: string;
  cmd: string[];
  code: number;
}

async function runOnce(s: Subject, env: Record<string, string>): Promise<Phases> {
  const spawned = wallMs();
  const out = await new Deno.Command(s.cmd[0], {
    args: s.cmd.slice(1),
    env: { ...env, LOKT_PHASES: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ended = wallMs();
  if (out.code !== s.code) throw new Error(`${s.cmd.join(" ")} exited ${out.code}`);
  return phasesOf(new TextDecoder().decode(out.stderr), spawned, ended);
}

/** Runs every subject `rounds` times, interleaved; returns the median of each phase. */
export async function benchPhases(
  rounds: number,
  only?: string[],
): Promise<Map<string, { phases: [string, number][]; wallMs: number }>> {
  const dir = makeDir("phases");
  const env = loktEnv(`${dir}/root`);
  const all: Subject[] = [
    { key: "floor", cmd: [DENO, "run", "-A", `${REPO}/bench/first_mark.ts`], code: 0 },
    { key: "exists", cmd: lokt("exists", "x"), code: 3 },
    { key: "status", cmd: lokt("status"), code: 0 },
    { key: "lock", cmd: lokt("lock", "x", "--ttl", "5m"), code: 0 },
    { key: "unlock", cmd: lokt("unlock", "x"), code: 0 },
    { key: "guard", cmd: lokt("guard", "g", "--", "true"), code: 0 },
  ];
  // lock and unlock go together: one takes what the other releases.
  const subjects = all.filter((s) =>
    s.key === "floor" || only === undefined || only.includes(s.key) ||
    (s.key === "lock" && only.includes("unlock")) || (s.key === "unlock" && only.includes("lock"))
  );
  const runs = new Map<string, Phases[]>(subjects.map((s) => [s.key, []]));
  try {
    for (let r = -2; r < rounds; r++) { // two warm-up rounds
      for (const s of subjects) {
        const phases = await runOnce(s, env);
        if (r >= 0) runs.get(s.key)!.push(phases);
      }
    }
  } finally {
    removeDir(dir);
  }
  const result = new Map<string, { phases: [string, number][]; wallMs: number }>();
  for (const [key, list] of runs) {
    // Runs of one command reach the same marks in the same order.
    const labels = list[0].map(([label]) => label);
    const phases: [string, number][] = labels.map((label, i) => [
      label,
      median(list.map((p) => p[i]?.[1] ?? NaN)),
    ]);
    const wall = median(list.map((p) => p.reduce((sum, [, ms]) => sum + ms, 0)));
    result.set(key, { phases, wallMs: wall });
  }
  return result;
}

if (import.meta.main) {
  const option = (name: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const rounds = Number(option("rounds") ?? 30);
  const result = await benchPhases(rounds, option("only")?.split(","));
  for (const [key, { phases, wallMs }] of result) {
    console.log(`\n${key}: ${wallMs.toFixed(2)} ms wall (median of ${rounds})`);
    for (const [label, ms] of phases) console.log(`  ${label.padEnd(28)} ${ms.toFixed(2)} ms`);
  }
}
