/**
 * File access inside the lock root that never follows a symbolic link: a link planted in the
 * root could otherwise lead lokt to read, create or delete files elsewhere. Deno has no
 * `O_NOFOLLOW`, so each function looks at the path with `lstat` first and refuses a link;
 * creates files with exclusive create, which never follows one (not even a dangling link, where
 * a plain create would make the link's target); and checks that the file it opened is the one
 * `lstat` saw (same device and inode), which catches a path swapped for a link in between.
 * Directories of the root are checked once per process. `docs/lock-file.md` ("Symbolic links")
 * describes the rules and their limits.
 */

import { IoError, SymlinkError } from "./errors.ts";

/** How often a path that keeps changing between the look and the open is tried again. */
const ATTEMPTS = 8;

/** `lstat`, or undefined when nothing is at `path`. Other errors are thrown as they are. */
export function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

const realDirs = new Set<string>();

/**
 * Refuses each of `dirs` that is a symbolic link, with an error naming it. A directory found
 * real is remembered for the rest of the process: one `lstat` per directory per process. A
 * missing one is looked at again next time (lokt creates it as a real directory); anything else
 * in its place (a plain file) is left to the call that uses it, which fails with "Not a
 * directory".
 */
export function refuseLinkedDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    if (realDirs.has(dir)) continue;
    let info: Deno.FileInfo | undefined;
    try {
      info = lstatOrUndefined(dir);
    } catch (error) {
      throw new IoError(`cannot examine ${dir}`, error);
    }
    if (info?.isSymlink) throw new SymlinkError(dir, "directory");
    if (info?.isDirectory) realDirs.add(dir);
  }
}

/** Access wanted on an opened file. */
export interface Access {
  read?: boolean;
  write?: boolean;
  append?: boolean;
}

function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

function unsettled(path: string): IoError {
  return new IoError(`cannot open ${path}`, new Error("it was replaced while being opened, again"));
}

/**
 * Opens the file at `path`; undefined when there is none. A symbolic link is refused
 * ({@link SymlinkError}). Race: the path may be swapped between the `lstat` and the open; the
 * opened file must then differ from the one seen, and the look is made again. Opening never
 * changes a file (no create, no truncate), so a file opened through a link swapped in is only
 * closed again.
 */
export function openExisting(path: string, access: Access): Deno.FsFile | undefined {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const named = lstatOrUndefined(path);
    if (named === undefined) return undefined;
    if (named.isSymlink) throw new SymlinkError(path);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, access);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // removed meanwhile: look again
      throw error;
    }
    if (sameFile(file.statSync(), named)) return file;
    file.close();
  }
  throw unsettled(path);
}

/**
 * Opens the file at `path`, creating it with `mode` when there is none. A symbolic link is
 * refused, also a dangling one: the create is exclusive, so it fails on a link rather than
 * create the file it points to. Race: another process may create the file between the look and
 * the create; the create then fails with AlreadyExists and the existing file is opened.
 */
export function openOrCreate(path: string, access: Access, mode: number): Deno.FsFile {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const file = openExisting(path, access);
    if (file !== undefined) return file;
    try {
      return Deno.openSync(path, { ...access, createNew: true, mode });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
  throw unsettled(path);
}

/** What {@link readNoFollow} found. */
export type NoFollowRead =
  | { kind: "absent" }
  /** A directory stands at the path; its `lstat`. */
  | { kind: "directory"; info: Deno.FileInfo }
  /** The file's bytes, and its `stat` as opened. */
  | { kind: "file"; bytes: Uint8Array; info: Deno.FileInfo };

/**
 * Reads the whole file at `path`, refusing a symbolic link ({@link SymlinkError}). Costs one
 * `lstat` more than a plain read; a directory in the way is reported, not read.
 */
export function readNoFollow(path: string): NoFollowRead {
  const file = openExisting(path, { read: true });
  if (file === undefined) return { kind: "absent" };
  try {
    const info = file.statSync();
    if (info.isDirectory) return { kind: "directory", info };
    return { kind: "file", bytes: readAll(file, info.size), info };
  } finally {
    file.close();
  }
}

function readAll(file: Deno.FsFile, sizeHint: number): Uint8Array {
  let buf = new Uint8Array(sizeHint + 1);
  let length = 0;
  for (;;) {
    if (length === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = file.readSync(buf.subarray(length));
    if (n === null || n === 0) return buf.subarray(0, length);
    length += n;
  }
}
