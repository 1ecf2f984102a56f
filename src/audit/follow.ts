/**
 * Following the audit log (`lokt audit --tail`): new lines are read as they are appended, across
 * rotations, until the caller aborts. Woken by file-system events on the log's directory, with
 * polling as the fallback (and as a safety net for missed events). Read-only.
 */

import { Doorbell } from "../doorbell.ts";
import { type FileId, isFile, LogFile, readBuffer } from "./log_file.ts";
import { type AuditFilter, EventCollector, type LogPosition } from "./reader.ts";
import type { LoggedEvent } from "./event.ts";
import { rotatedLogs } from "./writer.ts";

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

function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Follows the audit log at `path` from `from` (where {@link readAudit} stopped; undefined when
 * there was no log yet) until `options.signal` aborts.
 *
 * Race: the log rotates by linking `audit.log` to `audit.log.N` and removing `audit.log`, and a
 * writer that opened the log just before may still append to it afterwards. A file is complete
 * once `audit.log` names another file (or none) and no writer holds the shared kernel lock under
 * which writers append (see `AuditWriter`): a writer that takes it later finds the name moved and
 * writes to the new log. So the follower keeps the live file open; when the name has moved on and
 * the file is quiet, it reads the file to its end once, then each file rotated after it, whole
 * and oldest first (each once quiet), then the new live file from its beginning. While a writer
 * is still appending to a file that was rotated, the follower reads what is there and looks again
 * at the next wake-up. Nothing is read twice, and nothing is waited for.
 */
export async function followAudit(
  path: string,
  from: LogPosition | undefined,
  options: FollowOptions,
): Promise<void> {
  const collector = new EventCollector(options.filter, 0);
  const emit = (lines: string[]) => {
    const skippedBefore = collector.skipped;
    for (const line of lines) {
      const event = collector.add(line);
      if (event !== undefined) options.onEvent(event);
    }
    if (collector.skipped > skippedBefore) options.onSkipped?.(collector.skipped - skippedBefore);
  };
  const buffer = readBuffer();
  /** The file being read: the one `audit.log` named when last looked at, until it is complete. */
  let current: LogFile | undefined;
  /** Rotated files numbered up to this one have been read, here or by `readAudit`. */
  let doneN = 0;

  /** The number of the rotated file `id` (newer than `doneN`); undefined if it is not there. */
  const rotatedNumber = (id: FileId): number | undefined => {
    const rotated = rotatedLogs(path);
    for (let i = rotated.length - 1; i >= 0 && rotated[i].n > doneN; i--) {
      if (isFile(statOrUndefined(rotated[i].path), id)) return rotated[i].n;
    }
    return undefined;
  };

  /** Reads a complete file to its end, notes its number, and closes it. */
  const finish = (file: LogFile, n?: number) => {
    try {
      file.read(true, emit);
      // Looked up while the file is open, so that its inode cannot have been reused.
      doneN = n ?? rotatedNumber(file) ?? doneN;
    } finally {
      file.close();
    }
  };

  /**
   * With no file in hand: reads the complete rotated files after `doneN`, then opens the live one
   * and returns it; or returns a rotated file that is still live (a rotation killed between its
   * link and its unlink) or still being appended to. A file only becomes live once the one
   * before it was rotated, so a look at the rotated files after opening the live one finds any
   * rotated meanwhile: then the live file is left for the next step, which reads those first.
   */
  const catchUp = (): LogFile | undefined => {
    for (const r of rotatedLogs(path)) {
      if (r.n <= doneN) continue;
      const file = LogFile.open(r.path, buffer);
      if (file === undefined) {
        doneN = r.n; // pruned meanwhile
        continue;
      }
      if (isFile(statOrUndefined(path), file) || !file.quiet()) return file;
      finish(file, r.n);
    }
    const opened = LogFile.open(path, buffer);
    if (opened === undefined) return undefined; // between a rotation's unlink and the next write
    const rotatedSince = rotatedLogs(path)
      .some((r) => r.n > doneN && !isFile(statOrUndefined(r.path), opened));
    if (!rotatedSince) return opened;
    opened.close();
    return undefined;
  };

  /** Picks up where `readAudit` stopped: `position` in the file `audit.log` named then, if any. */
  const resume = (position: LogPosition | undefined) => {
    // readAudit read every rotated file there was (and the live file, if a rotation killed after
    // its link left it under a rotated name too).
    doneN = rotatedLogs(path).at(-1)?.n ?? 0;
    if (position === undefined) return;
    const opened = LogFile.open(path, buffer);
    if (opened !== undefined && isFile(opened, position)) {
      opened.offset = position.offset;
      current = opened;
      return;
    }
    opened?.close();
    // Rotated since: read on in it, and catch up from there. If it was pruned meanwhile, every
    // rotated file left came after it.
    doneN = 0;
    const n = rotatedNumber(position);
    const file = n === undefined ? undefined : LogFile.open(`${path}.${n}`, buffer);
    if (file !== undefined && isFile(file, position)) {
      file.offset = position.offset;
      current = file;
    } else file?.close();
  };

  const step = () => {
    for (;;) {
      if (current === undefined) current = catchUp();
      if (current === undefined) return;
      const info = statOrUndefined(path);
      if (isFile(info, current)) {
        // A log cut shorter by hand starts over from its beginning.
        if (info!.size < current.offset) current.offset = 0;
        if (info!.size > current.offset) current.read(false, emit);
        return;
      }
      if (!current.quiet()) {
        current.read(false, emit); // a writer is still appending: look again next time
        return;
      }
      finish(current);
      current = undefined;
    }
  };

  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const base = path.slice(path.lastIndexOf("/") + 1);
  const watch = options.noWatch !== true;
  const bell = new Doorbell(watch);
  try {
    resume(from);
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
    current?.close();
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
