/** Clock sanity: the wall clock against the monotonic clock, and records stamped in the future. */

import { formatDuration } from "../locks/describe.ts";
import { type Check, check, listNames } from "./check.ts";

/** Wall-clock readings a judgement needs, in milliseconds. */
export interface ClockSample {
  /** Wall clock now (epoch ms). */
  wallMs: number;
  /** Wall time elapsed minus monotonic time elapsed over a short interval. */
  intervalDriftMs: number;
  /** Wall clock now minus (wall clock at process start + monotonic time since). */
  sinceStartDriftMs: number;
}

/** A record whose acquisition time lies ahead of the wall clock. */
export interface FutureRecord {
  name: string;
  aheadMs: number;
}

/** Drift beyond this means the wall clock was stepped while lokt ran. */
export const DRIFT_LIMIT_MS = 250;
/** A record may be this far ahead (clock granularity, a second process's clock read) unflagged. */
export const FUTURE_TOLERANCE_MS = 1_000;
/** A wall clock before this (2020-01-01) is certainly wrong. */
export const EARLIEST_SANE_MS = Date.UTC(2020, 0, 1);

/** Judges the clock. Pure. */
export function judgeClock(sample: ClockSample, future: readonly FutureRecord[]): Check {
  const drift = Math.max(Math.abs(sample.intervalDriftMs), Math.abs(sample.sinceStartDriftMs));
  const details = {
    wall_ms: sample.wallMs,
    interval_drift_ms: Math.round(sample.intervalDriftMs * 10) / 10,
    since_start_drift_ms: Math.round(sample.sinceStartDriftMs * 10) / 10,
    future_records: future.map((f) => ({ name: f.name, ahead_sec: f.aheadMs / 1000 })),
  };
  if (sample.wallMs < EARLIEST_SANE_MS) {
    return check("clock", "fail", "the wall clock is before 2020: TTLs cannot be judged", {
      hint: "set the system clock (enable NTP: timedatectl set-ntp true)",
      details,
    });
  }
  if (future.length > 0) {
    const worst = Math.max(...future.map((f) => f.aheadMs));
    return check(
      "clock",
      "warn",
      `${future.length} record(s) acquired in the future (up to ${formatDuration(worst)} ahead): ` +
        `${listNames(future.map((f) => f.name))}; the clock went back, or another host's is ahead`,
      {
        hint: "keep clocks in sync (NTP); TTLs of these records look longer than they are",
        details,
      },
    );
  }
  if (drift > DRIFT_LIMIT_MS) {
    return check(
      "clock",
      "warn",
      `the wall clock moved ${formatDuration(drift)} against the monotonic clock while lokt ran`,
      {
        hint: "check time synchronisation (NTP); a stepped clock shortens or stretches TTLs",
        details,
      },
    );
  }
  return check("clock", "ok", "wall clock agrees with the monotonic clock", { details });
}

/** Reads the clocks over a short interval. */
export async function sampleClock(
  now: () => number,
  monotonic: () => number,
  timeOrigin: number,
  sleep: (ms: number) => Promise<void>,
): Promise<ClockSample> {
  const wall0 = now();
  const mono0 = monotonic();
  await sleep(20);
  const wall1 = now();
  const mono1 = monotonic();
  return {
    wallMs: wall1,
    intervalDriftMs: (wall1 - wall0) - (mono1 - mono0),
    sinceStartDriftMs: wall1 - (timeOrigin + mono1),
  };
}
