/** Read-only views of the lock root for `status`, `exists` and `why`. They never write. */

import { IoError, LoktError } from "../errors.ts";
import { refuseLinkedDirs } from "../nofollow.ts";
import { judgeNow, type LockContext } from "./context.ts";
import { freezePath, lockPath } from "./layout.ts";
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
}

/**
 * Reads and judges one record; never throws for an unreadable file (a symbolic link in its place
 * is one, never followed). A directory of the root that is a link is refused (`SymlinkError`).
 */
export function inspect(ctx: LockContext, name: string, kind: "lock" | "freeze"): Entry {
  const dir = kind === "lock" ? ctx.layout.locks : ctx.layout.freezes;
  refuseLinkedDirs([dir]);
  const path = kind === "lock" ? lockPath(ctx.layout, name) : freezePath(ctx.layout, name);
  let state: Entry["state"];
  try {
    state = readRecord(path, ctx.now());
  } catch (error) {
    const io = error instanceof LoktError ? error : new IoError(`cannot read ${path}`, error);
    state = { kind: "unreadable", problem: io.message, error: io };
  }
  return {
    name,
    kind,
    state,
    verdict: state.kind === "ok" ? judgeNow(ctx, state.lock) : undefined,
  };
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
    locks: locks.valid.map((name) => inspect(ctx, name, "lock")),
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
