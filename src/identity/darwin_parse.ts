/**
 * Pure parsers of what the macOS probe reads: `ps` rows and `sysctl` values. They accept only the
 * form the probe asks for (`ps` in the C locale and UTC) and return undefined for anything else,
 * so a value lokt cannot read leaves the process unknown rather than misread: an unknown process
 * is never taken for dead, and an identity built on nothing fails closed.
 */

import type { ProcessInfo } from "./process.ts";

/** The `ps -o` columns the probe asks for, in this order. */
export const PS_COLUMNS = "pid=,ppid=,stat=,lstart=,args=";

/**
 * The environment `ps` runs in: `lstart` is strftime's `%c`, so the C locale gives English day
 * and month names in one fixed order, and UTC gives the same start time whatever `TZ` the
 * caller has.
 */
export const PS_ENV: Readonly<Record<string, string>> = { LC_ALL: "C", TZ: "UTC" };

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const LSTART = /^([A-Za-z]{3}) ([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * Seconds since the epoch from `lstart` as `ps` prints it in the C locale and UTC
 * (`"Sat Nov 21 05:08:38 2026"`, the day padded with a space); undefined for any other form,
 * such as another locale's names (`"Sa 21 Nov 05:08:38 2026"`).
 */
export function parseLstart(text: string): number | undefined {
  const m = text.trim().match(LSTART);
  if (!m) return undefined;
  const [, weekday, mon, day, hh, mm, ss, year] = m;
  const month = MONTHS.indexOf(mon);
  const [d, h, min, s] = [day, hh, mm, ss].map(Number);
  if (!WEEKDAYS.includes(weekday) || month < 0) return undefined;
  if (d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  return Date.UTC(Number(year), month, d, h, min, s) / 1000;
}

// pid, ppid, stat, the five words of lstart, then the command line.
const PS_ROW = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\S+ +\S+ +\S+ +\S+ +\S+)(?:\s+(.*))?$/;

/** One row of `ps -o pid=,ppid=,stat=,lstart=,args=` (see {@link PS_COLUMNS}), without its session. */
export function parsePsRow(row: string): ProcessInfo | undefined {
  const m = row.match(PS_ROW);
  if (!m) return undefined;
  const [, pid, ppid, stat, lstart, args = ""] = m;
  const start = parseLstart(lstart);
  if (start === undefined) return undefined;
  const argv = args.trim() === "" ? [] : args.trim().split(/\s+/);
  return {
    pid: Number(pid),
    ppid: Number(ppid),
    start: String(start),
    zombie: stat.startsWith("Z"),
    comm: (argv[0] ?? "").split("/").pop()?.replace(/^-/, "") ?? "",
    argv,
  };
}

/** Every row of a `ps` output that parses; rows that do not are left out (unknown). */
export function parsePsOutput(out: string): ProcessInfo[] {
  return out.split("\n").map(parsePsRow).filter((p): p is ProcessInfo => p !== undefined);
}

const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/**
 * The boot id from `sysctl -n kern.bootsessionuuid`: a UUID drawn at each boot, which (unlike
 * `kern.boottime`) does not move when the clock is stepped. Undefined for anything else.
 */
export function parseBootSessionUuid(out: string): string | undefined {
  const value = out.trim();
  return UUID.test(value) ? value : undefined;
}
