/** Where everything lives under a lock root. `docs/lock-file.md` describes the layout. */

import { refuseLinkedDirs } from "../nofollow.ts";

/** The directories and files of one lock root. */
export interface Layout {
  root: string;
  /** `locks/<name>.json`: the held locks. */
  locks: string;
  /** `freezes/<name>.json`: active freezes. */
  freezes: string;
  /** `fences/<name>`: per-name fence counter, also the target of the per-name kernel lock. */
  fences: string;
  /**
   * `slots/<name>/<slot>.json`: the holders of a name taken with `--slots N` (N of 2 or more),
   * one file per occupied slot. Created on first use, not by {@link ensureLayout}.
   */
  slots: string;
  /** `queue/<name>/<ticket>.json`: waiters, first come first served. */
  queue: string;
  /** `tmp/`: files being written, linked or renamed into place when complete. */
  tmp: string;
  /** `audit.log`: JSON lines. */
  audit: string;
}

/** The layout of the root at `root` (an absolute path). */
export function layoutOf(root: string): Layout {
  return {
    root,
    locks: `${root}/locks`,
    freezes: `${root}/freezes`,
    fences: `${root}/fences`,
    slots: `${root}/slots`,
    queue: `${root}/queue`,
    tmp: `${root}/tmp`,
    audit: `${root}/audit.log`,
  };
}

/** Path of the lock file for `name`. */
export function lockPath(layout: Layout, name: string): string {
  return `${layout.locks}/${name}.json`;
}

/** Directory of the slot holders' files of `name`. */
export function slotDir(layout: Layout, name: string): string {
  return `${layout.slots}/${name}`;
}

/** Path of the holder file of slot `slot` of `name` (N of 2 or more). */
export function slotPath(layout: Layout, name: string, slot: number): string {
  return `${slotDir(layout, name)}/${slot}.json`;
}

/**
 * Where the record of a hold lives: `locks/<name>.json` for a plain lock (N = 1), its slot's file
 * for a holder of a name with N of 2 or more.
 */
export function recordPath(
  layout: Layout,
  hold: { name: string; slot?: number; slots?: number },
): string {
  return hold.slot !== undefined && (hold.slots ?? 0) > 1
    ? slotPath(layout, hold.name, hold.slot)
    : lockPath(layout, hold.name);
}

/** Path of the freeze file for `name`. */
export function freezePath(layout: Layout, name: string): string {
  return `${layout.freezes}/${name}.json`;
}

/** Path of the fence counter (and kernel-lock target) for `name`. */
export function fencePath(layout: Layout, name: string): string {
  return `${layout.fences}/${name}`;
}

/**
 * The root's fence floor: at least every fence handed out for any name whose fence file was
 * reclaimed. A name cannot start with a dot, so it never collides with a name's fence file.
 */
export function fenceFloorPath(layout: Layout): string {
  return `${layout.fences}/.floor`;
}

/** Directory of the waiting queue for `name`. */
export function queueDir(layout: Layout, name: string): string {
  return `${layout.queue}/${name}`;
}

/** The root's directories, in the order {@link ensureLayout} creates them. */
export function layoutDirs(layout: Layout): string[] {
  return [layout.tmp, layout.locks, layout.freezes, layout.queue, layout.fences];
}

/**
 * Refuses a root whose directories are symbolic links (`SymlinkError`, naming the link): lokt
 * would read, create and delete files wherever they point. Once per directory per process.
 */
export function refuseLinkedLayout(layout: Layout): void {
  refuseLinkedDirs(layoutDirs(layout));
}

/**
 * Creates the root and its directories (mode 0700) if they are missing. `fences/` comes last:
 * lokt lays the root out again only when a fence file is missing, so a process killed half-way
 * through must not leave `fences/` without the others.
 */
export function ensureLayout(layout: Layout): void {
  for (const dir of layoutDirs(layout)) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}
