/** A soak's report: what it saw, which checks failed, and the summary it prints. */

import type { AuditSummary, Leftovers } from "./inspect.ts";

/** Everything a soak saw. `problems` says what failed. */
export interface SoakReport {
  seed: number;
  workers: number;
  names: readonly string[];
  unlocked: boolean;
  /** From the first action to the last worker's end, milliseconds. */
  elapsedMs: number;
  actions: Record<string, number>;
  exits: Record<string, number>;
  /** Critical sections entered (witness taken), per kind of holder. */
  acquisitions: Record<string, number>;
  killed: number;
  /** Of {@link SoakReport.killed}: guards killed while their command was inside. */
  killedInside: number;
  overlaps: string[];
  /** Holds whose fence was not higher than the previous hold's of the same name. */
  fencesOutOfOrder: string[];
  /** Holds (`name#fence`) with no `acquire` event in the audit log. */
  unaudited: string[];
  anomalies: string[];
  audit: AuditSummary & { tailSeen: number };
  /** Under the root once every worker ended (killed guards' leftovers included), and after one
   * more guard per name ran. */
  leftovers: { before: Leftovers; after: Leftovers };
  /** Resident set sizes, sampled during the run (first at the start, last at the end). */
  rss: { guard: RssSample[]; tail: RssSample[] };
  /** Samples before this time are warm-up (a fresh process grows as it loads and compiles). */
  warmupMs: number;
}

/** One resident-set-size sample: when (since the workers started) and how much. */
export interface RssSample {
  ms: number;
  kb: number;
}

/**
 * How much a long-lived process may grow past its size after warm-up. V8 sizes its heap to how
 * fast a process allocates, not only to what it keeps: its young generation alone can take 32 MB
 * more and give it back only lazily (a follower that allocated too much once grew by 30 MB that
 * way and kept nothing). So the bound is above that, and catches a runaway, never a healthy
 * process; slow leaks in the follower are measured exactly by tests/audit/follow_memory_test.ts.
 */
export const RSS_GROWTH_BOUND_KB = 48 * 1024;

/** The largest size a long-lived process may end at, given its size after warm-up. */
export function rssBoundKb(baselineKb: number): number {
  return baselineKb + RSS_GROWTH_BOUND_KB;
}

/**
 * The size after warm-up: the largest sample up to the first one after `warmupMs` (the last one if
 * the run was shorter), so that what a process still loads late in its warm-up is not counted as
 * growth.
 */
export function rssBaseline(samples: RssSample[], warmupMs: number): RssSample | undefined {
  const after = samples.findIndex((s) => s.ms >= warmupMs);
  const warm = samples.slice(0, after < 0 ? samples.length : after + 1);
  return warm.reduce<RssSample | undefined>(
    (a, b) => (a === undefined || b.kb > a.kb ? b : a),
    undefined,
  );
}

/** Every check the report fails, as sentences; empty when the soak passed. */
export function problems(report: SoakReport): string[] {
  const out: string[] = [];
  if (report.overlaps.length > 0) {
    out.push(`${report.overlaps.length} overlaps: ${report.overlaps.slice(0, 10).join("; ")}`);
  }
  if (report.fencesOutOfOrder.length > 0) {
    out.push(`fences out of order: ${report.fencesOutOfOrder.slice(0, 10).join("; ")}`);
  }
  if (report.unaudited.length > 0) {
    out.push(`holds without an acquire event: ${report.unaudited.slice(0, 10).join(", ")}`);
  }
  for (const a of report.anomalies.slice(0, 20)) out.push(a);
  if (report.anomalies.length > 20) out.push(`... ${report.anomalies.length - 20} more anomalies`);
  if (report.audit.unparsable.length > 0) {
    out.push(`unparsable audit lines: ${report.audit.unparsable.slice(0, 5).join("\n")}`);
  }
  for (const [label, samples] of Object.entries(report.rss)) {
    const baseline = rssBaseline(samples, report.warmupMs);
    const last = samples.at(-1);
    if (baseline === undefined || last === undefined) continue;
    if (last.kb > rssBoundKb(baseline.kb)) {
      out.push(
        `${label} grew from ${baseline.kb} kB after warm-up to ${last.kb} kB at the end ` +
          `(bound ${rssBoundKb(baseline.kb)} kB)`,
      );
    }
  }
  return out;
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(1);
}

/** At most 13 evenly spaced samples, the first and the last included. */
function thin(samples: number[]): number[] {
  if (samples.length <= 13) return samples;
  return Array.from({ length: 13 }, (_, i) => samples[Math.round(i * (samples.length - 1) / 12)]);
}

function counts(record: Record<string, number>): string {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`).join(", ");
}

function leftText(left: Leftovers): string {
  return `${left.locks.length} lock files, ${left.tickets.length} queue tickets, ` +
    `${left.tmp.length} temporary files, ${left.freezes.length} freezes`;
}

/** A summary of the report, a few lines long. */
export function describeSoak(report: SoakReport): string {
  const total = Object.values(report.actions).reduce((a, b) => a + b, 0);
  const acquired = Object.values(report.acquisitions).reduce((a, b) => a + b, 0);
  const kinds = counts(report.acquisitions);
  const lines = [
    `soak: seed ${report.seed}, ${report.workers} workers on ${report.names.length} names, ` +
    `${(report.elapsedMs / 1000).toFixed(1)} s${report.unlocked ? " WITHOUT LOCKS" : ""}`,
    `actions: ${total} (${counts(report.actions)})`,
    `exits: ${counts(report.exits)}`,
    `acquisitions: ${acquired} (${kinds}); guards SIGKILLed: ${report.killed} ` +
    `(${report.killedInside} with their command inside)`,
    `overlaps: ${report.overlaps.length}; fences out of order: ` +
    `${report.fencesOutOfOrder.length}; holds without an acquire event: ` +
    `${report.unaudited.length}; anomalies: ${report.anomalies.length}`,
  ];
  if (!report.unlocked) {
    const a = report.audit;
    lines.push(
      `audit: ${a.lines} lines in ${a.files} files, ${a.unparsable.length} unparsable, ` +
        `audit --tail printed ${a.tailSeen}; ${counts(a.events)}`,
      `left after the workers: ${leftText(report.leftovers.before)}; after one more guard per ` +
        `name: ${leftText(report.leftovers.after)}`,
    );
    for (const [label, samples] of Object.entries(report.rss)) {
      const baseline = rssBaseline(samples, report.warmupMs);
      if (baseline === undefined) continue;
      const kbs = samples.map((s) => s.kb);
      lines.push(
        `RSS ${label === "tail" ? "audit --tail" : "long-lived guard"} (MB): ${mb(kbs[0])} at ` +
          `the start, ${mb(baseline.kb)} after warm-up (${(baseline.ms / 1000).toFixed(0)} s), ` +
          `${mb(kbs.at(-1)!)} at the end, peak ${mb(Math.max(...kbs))}, bound ` +
          `${mb(rssBoundKb(baseline.kb))}; samples ${thin(kbs).map(mb).join(" ")}`,
      );
    }
  }
  return lines.join("\n");
}
