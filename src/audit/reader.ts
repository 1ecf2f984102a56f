/**
 * Reading the audit log back: every file of it (rotated ones first, oldest first), decoded line
 * by line, filtered by a pure predicate. Unparsable lines are skipped and counted. Read-only: it
 * never creates or changes a file.
 */

import { parseDuration } from "../duration.ts";
import { decodeEventLine, type LoggedEvent } from "./event.ts";
import { rotatedLogs } from "./writer.ts";
import { openExisting } from "../nofollow.ts";

/** Which events to keep. Every given criterion must hold (they combine with AND). */
export interface AuditFilter {
  /** Keep events at or after this time (epoch milliseconds). */
  sinceMs?: number;
  /** Keep events at or before this time (epoch milliseconds). */
  untilMs?: number;
  /** Keep events for this lock name only. */
  name?: string;
  /** Keep events whose name is one of these (an empty list keeps none). */
  events?: readonly string[];
  /** Keep events whose acting owner is this one. */
  owner?: string;
}

/** Does `event` pass `filter`? Pure. */
export function matchesFilter(event: LoggedEvent, filter: AuditFilter): boolean {
  if (filter.sinceMs !== undefined && event.tsMs < filter.sinceMs) return false;
  if (filter.untilMs !== undefined && event.tsMs > filter.untilMs) return false;
  if (filter.name !== undefined && event.name !== filter.name) return false;
  if (filter.events !== undefined && !filter.events.includes(event.event)) return false;
  if (filter.owner !== undefined && event.owner !== filter.owner) return false;
  return true;
}

/**
 * Reads a time bound as people type it: a duration means that long ago (`90m`, `2d`), anything
 * else must be an RFC 3339 timestamp or a date. Timestamps without a zone, and bare dates, are
 * UTC, like the log itself. Pure.
 */
export function parseTimeBound(text: string, nowMs: number): { ms: number } | { problem: string } {
  const input = text.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(input)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(input) || !input.includes("T")
      ? input
      : `${input}Z`;
    const ms = Date.parse(zoned);
    if (Number.isNaN(ms)) {
      return { problem: `"${input}" is not a valid timestamp (e.g. 2026-05-01T14:00:00Z)` };
    }
    return { ms };
  }
  const duration = parseDuration(input);
  if ("problem" in duration) {
    return {
      problem: `"${input}" is neither a duration (90s, 5m, 1h30m, 2d: that long ago) nor a ` +
        "timestamp (2026-05-01, 2026-05-01T14:00:00Z)",
    };
  }
  return { ms: nowMs - duration.ms };
}

/** Where a reader stopped in the live log, so that a follower can carry on from there. */
export interface LogPosition {
  dev: number;
  ino: number;
  /** Bytes consumed: everything up to and including the last complete line. */
  offset: number;
}

/** What {@link readAudit} found. */
export interface AuditRead {
  /** Matching events, oldest first (the last `limit` of them when a limit is set). */
  events: LoggedEvent[];
  /** Lines that could not be parsed (partial writes, foreign text); skipped. */
  skipped: number;
  /** The files read, oldest first. */
  files: string[];
  /** The end of the live log when it was read; undefined if there was none. */
  end?: LogPosition;
}

/** Options of {@link readAudit}. */
export interface ReadOptions {
  filter?: AuditFilter;
  /** Keep only the last `limit` matching events. */
  limit?: number;
}

const decoder = new TextDecoder();

/** Reads a file's bytes from `offset` to its end through an open handle. */
export function readFrom(file: Deno.FsFile, offset: number): Uint8Array {
  file.seekSync(offset, Deno.SeekMode.Start);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = file.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Splits bytes into complete lines. A trailing fragment without its newline (a line still being
 * written) is not returned; `consumed` counts the bytes up to the last newline.
 */
export function completeLines(bytes: Uint8Array): { lines: string[]; consumed: number } {
  const last = bytes.lastIndexOf(0x0a);
  if (last < 0) return { lines: [], consumed: 0 };
  const lines = decoder.decode(bytes.subarray(0, last)).split("\n");
  return { lines, consumed: last + 1 };
}

/** Collects matching events, keeping the last `limit` of them. */
export class EventCollector {
  readonly events: LoggedEvent[] = [];
  skipped = 0;
  readonly #filter: AuditFilter;
  readonly #limit: number;

  constructor(filter: AuditFilter = {}, limit = Infinity) {
    this.#filter = filter;
    this.#limit = limit;
  }

  /** Decodes and filters one line; returns the event when it matched. */
  add(line: string): LoggedEvent | undefined {
    if (line.trim() === "") return undefined;
    const event = decodeEventLine(line);
    if (event === undefined) {
      this.skipped++;
      return undefined;
    }
    if (!matchesFilter(event, this.#filter)) return undefined;
    if (this.#limit <= 0) return event;
    this.events.push(event);
    if (this.events.length > this.#limit) this.events.shift();
    return event;
  }
}

/** Opens a log file, undefined when it is gone; a symbolic link is refused (`SymlinkError`). */
function openQuietly(path: string): Deno.FsFile | undefined {
  return openExisting(path, { read: true });
}

/**
 * Reads the whole audit log at `path` (for example `<root>/audit.log`): rotated files
 * `audit.log.N` oldest first, then the live file.
 *
 * Race: a writer may rotate the log while it is read (link `audit.log` to `audit.log.N+1`, then
 * remove `audit.log`). The live file is opened first and identified by its inode; a rotated file
 * with that inode is the same file and is read once, as the live one. Lines appended to a newer
 * live file after that are left to a follower. A rotated file pruned in between is skipped.
 */
export function readAudit(path: string, options: ReadOptions = {}): AuditRead {
  const collector = new EventCollector(options.filter, options.limit);
  const files: string[] = [];
  const live = openQuietly(path);
  try {
    const liveInfo = live?.statSync();
    for (const rotated of rotatedLogs(path)) {
      const file = openQuietly(rotated.path);
      if (file === undefined) continue;
      try {
        const info = file.statSync();
        if (liveInfo !== undefined && info.ino === liveInfo.ino && info.dev === liveInfo.dev) {
          continue;
        }
        files.push(rotated.path);
        const { lines } = completeLines(withNewline(readFrom(file, 0)));
        for (const line of lines) collector.add(line);
      } finally {
        file.close();
      }
    }
    if (live === undefined || liveInfo === undefined) {
      return { events: collector.events, skipped: collector.skipped, files };
    }
    files.push(path);
    const { lines, consumed } = completeLines(readFrom(live, 0));
    for (const line of lines) collector.add(line);
    return {
      events: collector.events,
      skipped: collector.skipped,
      files,
      end: { dev: liveInfo.dev, ino: liveInfo.ino ?? 0, offset: consumed },
    };
  } finally {
    live?.close();
  }
}

/** A rotated file is complete: a last line without its newline is still a line. */
function withNewline(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0 || bytes[bytes.length - 1] === 0x0a) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = 0x0a;
  return out;
}
