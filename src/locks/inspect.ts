/** Read-only views of the lock root for `status`, `exists` and `why`. They never write. */

import { IoError, LoktError } from "../errors.ts";
import { refuseLinkedDirs } from "../nofollow.ts";
import { judgeNow, type LockContext } from "./context.ts";
import { freezePath, lockPath } from "./layout.ts";
import { listSlotFiles, slottedNames } from "./slots.ts";
import { nameProblem } from "./name.ts";
import type { Verdict } from "./stale.ts";
import { isAbandoned, readRecord, type RecordState } from "./store.ts";

/** One file of `locks/` or `freezes/`, read and judged. */
export interface Entry {
  name: string;
  kind: "lock" | "freeze";
  /** `unreadable`: the file could not be read at all (permissions, a file in the way). */
  state: RecordState | { kind: "unreadable"; problem: string; error: LoktError };
  /** Present when the record parsed. */
  verdict?: Verdict;
  /** The slot of a holder's file in `slots/<name>/` (a name with N of 2 or more). */
  slot?: number;
}

/**
 * Reads and judges one record; never throws for an unreadable file (a symbolic link in its place
 * is one, never followed). A directory of the root that is a link is refused (`SymlinkError`).
 */
export function inspect(ctx: LockContext, name: string, kind: "lock" | "freeze"): Entry {
  const dir = kind === "lock" ? ctx.layout.locks : ctx.layout.freezes;
  refuseLinkedDirs([dir]);
  const path = kind === "lock" ? lockPath(ctx.layout, name) : freezePath(ctx.layout, name);
  const state = readForView(path, ctx.now());
  return {
    name,
    kind,
    state,
    verdict: state.kind === "ok" ? judgeNow(ctx, state.lock) : undefined,
  };
}

/**
 * A record as a view shows it: a file that cannot be read (a link in its place, an I/O error) is
 * an unreadable state that names the problem, not an error that hides the other records.
 */
function readForView(path: string, nowMs: number): Entry["state"] {
  try {
    return readRecord(path, nowMs);
  } catch (error) {
    const io = error instanceof LoktError ? error : new IoError(`cannot read ${path}`, error);
    return { kind: "unreadable", problem: io.message, error: io };
  }
}

/**
 * The slot holders' files of `name` (none for a plain name), read and judged like
 * {@link inspect} does, each on its own; an unreadable directory is one unreadable entry.
 */
export function inspectSlots(ctx: LockContext, name: string): Entry[] {
  let files;
  try {
    files = listSlotFiles(ctx.layout, name);
  } catch (error) {
    const io = error instanceof LoktError ? error : new IoError(`cannot read slots`, error);
    return [{ name, kind: "lock", state: { kind: "unreadable", problem: io.message, error: io } }];
  }
  return files.map(({ slot, path }) => {
    const state = readForView(path, ctx.now());
    return {
      name,
      kind: "lock",
      slot,
      state,
      verdict: state.kind === "ok" ? judgeNow(ctx, state.lock) : undefined,
    };
  });
}

/** Every holder's file of `name`: the plain lock file (even when absent) and its slots' files. */
export function inspectHolders(ctx: LockContext, name: string): Entry[] {
  const plain = inspect(ctx, name, "lock");
  const slots = inspectSlots(ctx, name);
  return slots.length > 0 && plain.state.kind === "absent" ? slots : [plain, ...slots];
}

function namesIn(dir: string): { valid: string[]; strays: string[] } {
  const valid: string[] = [];
  const strays: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { valid, strays };
    throw new IoError(`cannot list ${dir}`, error);
  }
  for (const entry of entries) {
    if (!entry.name.endsWith(".json")) continue;
    const name = entry.name.slice(0, -".json".length);
    (nameProblem(name) === undefined ? valid : strays).push(entry.name);
  }
  return { valid: valid.map((f) => f.slice(0, -".json".length)).sort(), strays: strays.sort() };
}

/** Every lock and freeze in the root, plus files whose names no lock could have. */
export interface Listing {
  /** Plain locks and slot holders, by name, then slot (a plain lock first). */
  locks: Entry[];
  freezes: Entry[];
  /** `.json` files in `locks/` or `freezes/` with invalid names (not lokt's). */
  strays: string[];
}

/** Lists and judges everything under the root. */
export function listAll(ctx: LockContext): Listing {
  refuseLinkedDirs([ctx.layout.locks, ctx.layout.freezes]);
  const locks = namesIn(ctx.layout.locks);
  const freezes = namesIn(ctx.layout.freezes);
  return {
    locks: [
      ...locks.valid.map((name) => inspect(ctx, name, "lock")),
      ...slottedNames(ctx.layout).flatMap((name) => inspectSlots(ctx, name)),
    ].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : (a.slot ?? 0) - (b.slot ?? 0)),
    freezes: freezes.valid.map((name) => inspect(ctx, name, "freeze")),
    strays: [
      ...locks.strays.map((f) => `locks/${f}`),
      ...freezes.strays.map((f) => `freezes/${f}`),
    ],
  };
}

/** Why an entry could not be read as a record, for people; `""` when it was read (or is absent). */
export function problemOf(entry: Entry): string {
  const s = entry.state;
  switch (s.kind) {
    case "empty":
    case "corrupt":
    case "unreadable":
      return s.problem;
    case "unsupported":
      return `format version ${s.version} (written by a newer lokt)`;
    case "absent":
    case "ok":
      return "";
  }
}

/** Is the name held by a live lock, as `lock` would see it? Young unreadable files count. */
export function isHeld(entry: Entry): boolean {
  switch (entry.state.kind) {
    case "absent":
      return false;
    case "ok":
      return entry.verdict?.kind === "live";
    case "empty":
    case "corrupt":
      return !isAbandoned(entry.state);
    case "unsupported":
    case "unreadable":
      return true;
  }
}
