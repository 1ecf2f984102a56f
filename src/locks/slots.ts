/**
 * The holders of a name, whatever its N. A plain lock (N = 1) is the name's file
 * `locks/<name>.json`; a name taken with N of 2 or more keeps one file per occupied slot in
 * `slots/<name>/<slot>.json`, each a lock record that also says its slot and the name's N. A name
 * has one N at a time: the N of its live holders. Every change of these files happens under the
 * name's kernel lock (`mutex.ts`), like every change of a plain lock file; `docs/protocol.md`
 * ("Slots") says why that keeps at most N holders.
 */

import { IoError, LoktError } from "../errors.ts";
import { lstatOrUndefined, refuseLinkedDirs } from "../nofollow.ts";
import { type Layout, lockPath, slotDir, slotPath } from "./layout.ts";
import { nameProblem } from "./name.ts";
import { readRecord, type RecordState } from "./store.ts";

/** The most slots a name may have: more is a usage error, not a lock. */
export const MAX_SLOTS = 256;

/** A problem with a requested N, for a usage error; undefined when it is valid. Pure. */
export function slotsProblem(slots: number): string | undefined {
  if (!Number.isSafeInteger(slots) || slots < 1) return "--slots must be a whole number from 1";
  if (slots > MAX_SLOTS) return `--slots must be at most ${MAX_SLOTS}`;
  return undefined;
}

/** One place a holder's record can be: the plain lock file, or one slot's file. */
export interface Seat {
  /** 1 for the plain lock file; the slot number for a slot file. */
  slot: number;
  /** True for `locks/<name>.json`. */
  plain: boolean;
  path: string;
  state: RecordState;
}

/** The N a seat's record belongs to: 1 for the plain file, the record's own N for a slot file. */
export function seatSlots(seat: Seat): number | undefined {
  if (seat.plain) return 1;
  return seat.state.kind === "ok" ? seat.state.lock.slots : undefined;
}

/** The slot number a file of `slots/<name>/` stands for, or undefined when it names none. */
function slotOf(fileName: string): number | undefined {
  const match = /^([1-9][0-9]{0,3})\.json$/.exec(fileName);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The slot files of `name` as slot numbers and paths, in slot order; none when `slots/<name>/`
 * does not exist (one `lstat`, the common case of a plain name). A link in place of `slots/` or
 * `slots/<name>/` is refused (`SymlinkError`): lokt never reads, creates or removes files
 * through one.
 */
export function listSlotFiles(layout: Layout, name: string): { slot: number; path: string }[] {
  const dir = slotDir(layout, name);
  // One lstat on a root where no name ever had slots, the common case.
  if (lstatOrUndefined(layout.slots) === undefined) return [];
  refuseLinkedDirs([layout.slots, dir]);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw new IoError(`cannot list ${dir}`, error);
  }
  const files: { slot: number; path: string }[] = [];
  for (const entry of entries) {
    const slot = slotOf(entry.name);
    if (slot !== undefined) files.push({ slot, path: slotPath(layout, name, slot) });
  }
  return files.sort((a, b) => a.slot - b.slot);
}

/** The slot files of `name`, read, by slot number (see {@link listSlotFiles}). */
export function readSlotSeats(layout: Layout, name: string, nowMs: number): Seat[] {
  return listSlotFiles(layout, name).map(({ slot, path }) => ({
    slot,
    plain: false,
    path,
    state: readRecord(path, nowMs),
  }));
}

/** Every seat of `name` that has a file: the plain lock file first, then the slots in order. */
export function readSeats(layout: Layout, name: string, nowMs: number): Seat[] {
  const path = lockPath(layout, name);
  const plain: Seat = { slot: 1, plain: true, path, state: readRecord(path, nowMs) };
  const slotted = readSlotSeats(layout, name, nowMs);
  return plain.state.kind === "absent" ? slotted : [plain, ...slotted];
}

/**
 * Creates `slots/` and `slots/<name>/` (0700) if missing, under the name's kernel lock, refusing a
 * link in place of either.
 */
export function ensureSlotDir(layout: Layout, name: string): void {
  const dir = slotDir(layout, name);
  for (const path of [layout.slots, dir]) {
    try {
      Deno.mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw error instanceof LoktError ? error : new IoError(`cannot create ${path}`, error);
      }
    }
    refuseLinkedDirs([path]);
  }
}

/**
 * Removes `slots/<name>/` if it is empty or absent; false when it holds anything (a holder: the
 * name is in use) or is not lokt's to remove (a link, a file). Slot files are created only under
 * the name's kernel lock, which the caller holds, so none can appear between the look and the
 * `rmdir` (which fails on a directory that is not empty anyway).
 */
export function removeEmptySlotDir(layout: Layout, name: string): boolean {
  const dir = slotDir(layout, name);
  const info = lstatOrUndefined(dir);
  if (info === undefined) return true;
  if (!info.isDirectory) return false;
  try {
    Deno.removeSync(dir);
    return true;
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/** The valid names that have a directory in `slots/`, sorted; links are not directories. */
export function slottedNames(layout: Layout): string[] {
  refuseLinkedDirs([layout.slots]);
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(layout.slots)) {
      if (entry.isDirectory && !entry.isSymlink && nameProblem(entry.name) === undefined) {
        names.push(entry.name);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new IoError(`cannot list ${layout.slots}`, error);
    }
  }
  return names.sort();
}
