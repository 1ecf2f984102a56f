/**
 * Following the audit log (`lokt audit --tail`): new lines are read as they are appended, across
 * rotations, until the caller aborts. Woken by file-system events on the log's directory, with
 * polling as the fallback (and as a safety net for missed events). Read-only.
 */

import {
  type AuditFilter,
  completeLines,
  EventCollector,
  type LogPosition,
  readFrom,
} from "./reader.ts";
import type { LoggedEvent } from "./event.ts";
import { rotatedLogs } from "./writer.ts";
import { Doorbell } from "../doorbell.ts";

/** Options of {@link followAudit}. */
export interface FollowOptions {
  filter?: AuditFilter;
  /** Stops following. */
  signal: AbortSignal;
  /** Called with each new matching event, in log order. */
  onEvent: (event: LoggedEvent) => void;
  /** Called when lines could not be parsed, with how many. */
  onSkipped?: (count: number) => void;
  /** Poll only, no file-system events. */
  noWatch?: boolean;
  /** Polling interval when file-system events are not available. */
  pollMs?: number;
  /** Polling interval as a safety net while file-system events arrive. */
  watchedPollMs?: number;
}

/** Default polling interval without file-system events. */
export const FOLLOW_POLL_MS = 250;
/** Default safety-net polling interval with file-system events. */
export const FOLLOW_WATCHED_POLL_MS = 1_000;
/** How long a rotated file is read again for lines its late writers append. */
export const LINGER_MS = 3_000;

function sameFile(info: Deno.FileInfo, pos: LogPosition): boolean {
  return (info.ino ?? 0) === pos.ino && info.dev === pos.dev;
}

/**
 * Follows the audit log at `path` from `from` (where {@link readAudit} stopped; undefined when
 * there was no log yet) until `options.signal` aborts.
 *
 * Race: the log rotates by linking `audit.log` to `audit.log.N` and removing `audit.log`. The
 * follower knows its file by inode: when the path names another inode, it finishes the old file
 * (found among the rotated ones by inode), reads any newer rotated files whole, then starts the
 * new live file at its beginning. A line is only taken once its newline is there.
 */
export async function followAudit(
  path: string,
  from: LogPosition | undefined,
  options: FollowOptions,
): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const base = path.slice(path.lastIndexOf("/") + 1);
  const watch = options.noWatch !== true;
  const bell = new Doorbell(watch);
  const collector = new EventCollector(options.filter, 0);
  let pos = from;
  const emit = (lines: string[]) => {
    const skippedBefore = collector.skipped;
    for (const line of lines) {
      const event = collector.add(line);
      if (event !== undefined) options.onEvent(event);
    }
    if (collector.skipped > skippedBefore) options.onSkipped?.(collector.skipped - skippedBefore);
  };

  /** Reads `file` from `offset`; returns the new offset. */
  const drain = (file: Deno.FsFile, offset: number, whole: boolean): number => {
    let bytes = readFrom(file, offset);
    if (whole && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) {
      bytes = new Uint8Array([...bytes, 0x0a]);
    }
    const { lines, consumed } = completeLines(bytes);
    emit(lines);
    return offset + consumed;
  };

  // A writer that opened the live file just before it was rotated appends its line to the
  // rotated file after we moved on: such a file is read again for a while.
  let lingering: { pos: LogPosition; untilMs: number } | undefined;

  /** Reads the rotated file that is `at` from its offset; returns the new offset, if found. */
  const drainRotated = (at: LogPosition, whole: boolean): number | undefined => {
    for (const r of rotatedLogs(path)) {
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(r.path, { read: true });
      } catch {
        continue;
      }
      try {
        if (sameFile(file.statSync(), at)) return drain(file, at.offset, whole);
      } finally {
        file.close();
      }
    }
    return undefined;
  };

  const revisitLingering = () => {
    if (lingering === undefined) return;
    const last = Date.now() >= lingering.untilMs;
    const offset = drainRotated(lingering.pos, last);
    if (offset === undefined || last) lingering = undefined;
    else lingering.pos.offset = offset;
  };

  const catchUpRotated = (previous: LogPosition | undefined) => {
    // The old live file, now rotated: finish it, then read anything rotated after it.
    let after = Infinity;
    const rotated = rotatedLogs(path);
    if (previous !== undefined) {
      if (lingering !== undefined) drainRotated(lingering.pos, true);
      for (const r of rotated) {
        let file: Deno.FsFile;
        try {
          file = Deno.openSync(r.path, { read: true });
        } catch {
          continue;
        }
        try {
          if (!sameFile(file.statSync(), previous)) continue;
          const offset = drain(file, previous.offset, false);
          lingering = { pos: { ...previous, offset }, untilMs: Date.now() + LINGER_MS };
          after = r.n;
        } finally {
          file.close();
        }
        break;
      }
    }
    for (const r of rotated) {
      if (r.n <= after) continue;
      try {
        const file = Deno.openSync(r.path, { read: true });
        try {
          drain(file, 0, true);
        } finally {
          file.close();
        }
      } catch {
        // pruned meanwhile
      }
    }
  };

  const step = () => {
    revisitLingering();
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return; // between rotation's link and remove
      throw error;
    }
    try {
      const info = file.statSync();
      if (pos === undefined || !sameFile(info, pos)) {
        if (pos !== undefined) catchUpRotated(pos);
        pos = { dev: info.dev, ino: info.ino ?? 0, offset: 0 };
      }
      // A log cut shorter by hand starts over from its beginning.
      if (info.size < pos.offset) pos.offset = 0;
      if (info.size > pos.offset) pos.offset = drain(file, pos.offset, false);
    } finally {
      file.close();
    }
  };

  try {
    while (!options.signal.aborted) {
      // The root may not exist yet: watch it once it does.
      if (watch && !bell.watching && isDirectory(dir)) {
        bell.watch([dir], (event) => event.paths.some((p) => isLogName(p, base)));
      }
      step();
      const ms = bell.watching
        ? options.watchedPollMs ?? FOLLOW_WATCHED_POLL_MS
        : options.pollMs ?? FOLLOW_POLL_MS;
      await bell.wait(ms, options.signal);
    }
  } finally {
    bell.close();
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** Is `p` the live log (`audit.log`) or a rotated one (`audit.log.N`)? */
function isLogName(p: string, base: string): boolean {
  const name = p.slice(p.lastIndexOf("/") + 1);
  return name === base || name.startsWith(`${base}.`);
}
