/**
 * File effects for lock and freeze records: read a record with its state, publish a complete
 * file atomically, replace or remove one. Callers that inspect and then act hold the name's
 * kernel lock (`mutex.ts`); these functions name the remaining races.
 */

import { IoError, LoktError } from "../errors.ts";
import { type NoFollowRead, readNoFollow, refuseLinkedDirs } from "../nofollow.ts";
import { decodeLock, encodeLock, type LockRecord } from "./lockfile.ts";
import type { Layout } from "./layout.ts";
import { type LockContext, randomHex } from "./context.ts";
import { REHEARSAL_PREFIX, writerTag } from "./leftovers.ts";
import { haltPoint } from "../testing/halt.ts";

/**
 * A zero-byte or unparsable record younger than this may still be settling (a writer outside
 * lokt's protocol, a copy in progress); older ones are corrupt and may be removed.
 */
export const CORRUPT_GRACE_MS = 5_000;

/** What is at a record's path. */
export type RecordState =
  | { kind: "absent" }
  | { kind: "ok"; lock: LockRecord }
  | { kind: "empty" | "corrupt"; problem: string; ageMs: number }
  | { kind: "unsupported"; version: number };

/** A record that cannot be parsed. */
export type UnreadableState = Extract<RecordState, { kind: "empty" | "corrupt" }>;

/** True once an unreadable record is old enough to be treated as corrupt and removable. */
export function isAbandoned(state: UnreadableState): boolean {
  return state.ageMs >= CORRUPT_GRACE_MS;
}

const decoder = new TextDecoder();

/**
 * Reads and decodes the record at `path`. A symbolic link there is refused (`SymlinkError`): it
 * is not a record, and what it points to is never read.
 */
export function readRecord(path: string, nowMs: number): RecordState {
  let read: NoFollowRead;
  try {
    read = readNoFollow(path);
  } catch (error) {
    if (error instanceof LoktError) throw error; // a link, or a path that kept changing
    throw new IoError(`cannot read ${path}`, error);
  }
  if (read.kind === "absent") return { kind: "absent" };
  const ageMs = ageOf(read.info, nowMs);
  if (read.kind === "directory") {
    // Like any unreadable record, abandoned once old enough: an empty directory is then
    // removed; one with files in it is refused with a clear error (see removeRecord).
    return { kind: "corrupt", problem: "it is a directory, not a file", ageMs };
  }
  const decoded = decodeLock(decoder.decode(read.bytes));
  switch (decoded.kind) {
    case "ok":
      return decoded;
    case "unsupported":
      return decoded;
    case "empty":
    case "corrupt": {
      const problem = decoded.kind === "empty" ? "the file is empty" : decoded.problem;
      return { kind: decoded.kind, problem, ageMs };
    }
  }
}

/** Milliseconds since the file last changed, or 0 when that cannot be told. */
function ageOf(info: Deno.FileInfo, nowMs: number): number {
  const mtime = info.mtime?.getTime();
  return mtime === undefined ? 0 : Math.max(0, nowMs - mtime);
}

/** Creates `path` for writing, private to this user; fails if anything is there already. */
function openNew(path: string): Deno.FsFile {
  return Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
}

/**
 * Writes `text` to a new private file `tmp/<hint>.<writer tag>.<hex>.tmp` (the tag: see
 * `leftovers.ts`) and returns its path. It is not synced: other processes see the complete file
 * once it is linked, which is what mutual exclusion needs, and after a power cut every process a
 * record names is dead anyway (a record emptied by the cut is unreadable, and removable once older
 * than the grace period). See docs/protocol.md.
 */
function writeTemp(ctx: LockContext, hint: string, text: string): string {
  const layout = ctx.layout;
  const path = `${layout.tmp}/${hint}.${writerTag(ctx)}.${randomHex(4)}.tmp`;
  let file: Deno.FsFile;
  try {
    file = openNew(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new IoError(`cannot create a file in ${layout.tmp}`, error);
    }
    // tmp/ is missing (removed by hand, or a crash while the root was being laid out).
    try {
      Deno.mkdirSync(layout.tmp, { recursive: true, mode: 0o700 });
      file = openNew(path);
    } catch (again) {
      throw new IoError(`cannot create a file in ${layout.tmp}`, again);
    }
  }
  haltPoint("store.temp.created", path);
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  } catch (error) {
    file.close();
    removeQuietly(path);
    throw new IoError(`cannot write a new record for "${hint}" in ${layout.tmp}`, error);
  }
  file.close();
  return path;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // best effort: doctor reports leftover temporary files
  }
}

/**
 * Publishes `lock` at `path` only if nothing is there. Race: another writer may create the name
 * at any moment; `link` of a complete temporary file fails with AlreadyExists in that case, so
 * the name appears complete or not at all. Returns false when the name was taken.
 */
export function publishNew(ctx: LockContext, path: string, lock: LockRecord): boolean {
  const temp = writeTemp(ctx, lock.name, encodeLock(lock));
  try {
    haltPoint("store.publish.after-temp-write", path);
    Deno.linkSync(temp, path);
    haltPoint("store.publish.after-link", path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new IoError(`cannot create ${path}`, error);
  } finally {
    removeQuietly(temp);
  }
}

/**
 * Replaces the record at `path` with `lock` by rename, atomically for readers. The caller holds
 * the name's kernel lock and has just checked the `lock_id` it replaces.
 */
export function replaceRecord(ctx: LockContext, path: string, lock: LockRecord): void {
  const temp = writeTemp(ctx, lock.name, encodeLock(lock));
  try {
    haltPoint("store.replace.before-rename", path);
    Deno.renameSync(temp, path);
    haltPoint("store.replace.after-rename", path);
  } catch (error) {
    removeQuietly(temp);
    throw new IoError(`cannot update ${path}`, error);
  }
}

/** Removes the record at `path`; false if it was already gone. The caller holds the kernel lock. */
export function removeRecord(path: string): boolean {
  try {
    haltPoint("store.remove.before", path);
    Deno.removeSync(path);
    haltPoint("store.remove.after", path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.IsADirectory) {
      throw new IoError(`cannot remove ${path}: it is a directory; remove it by hand`, error);
    }
    throw new IoError(`cannot remove ${path}`, error);
  }
}

/** Age after which a file in `tmp/` counts as left behind by a writer that crashed. */
export const ORPHAN_TEMP_AGE_MS = 60_000;

/**
 * Removes files in `tmp/` older than {@link ORPHAN_TEMP_AGE_MS}, and rehearsals' scratch roots
 * as old, and returns their names. Readers never look in `tmp/`, so these are only litter; a
 * writer that was paused for that long finds its temporary file gone and fails with an I/O error
 * instead of publishing.
 */
export function pruneOrphanTemps(layout: Layout, nowMs: number): string[] {
  refuseLinkedDirs([layout.tmp]);
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(layout.tmp)];
  } catch {
    return removed;
  }
  for (const entry of entries) {
    // A link is not lokt's: left in place, and `lokt doctor` reports it.
    if (entry.isSymlink) continue;
    const path = `${layout.tmp}/${entry.name}`;
    try {
      const mtime = Deno.lstatSync(path).mtime?.getTime() ?? nowMs;
      if (nowMs - mtime < ORPHAN_TEMP_AGE_MS) continue;
      if (entry.isDirectory && !entry.name.startsWith(REHEARSAL_PREFIX)) continue;
      Deno.removeSync(path, { recursive: entry.isDirectory });
      removed.push(entry.name);
    } catch {
      // its writer finished with it meanwhile
    }
  }
  return removed;
}
