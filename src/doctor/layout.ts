/**
 * Doctor's check of the root's layout: every entry lokt uses must be what lokt makes there. A
 * symbolic link is refused by every command (it could lead lokt to read, create or delete files
 * outside the root), and a file where a directory belongs, or the reverse, breaks the commands
 * that use it. Each one found is a failure, with the command that puts it right.
 */

import type { Layout } from "../locks/layout.ts";
import { lstatOrUndefined } from "../nofollow.ts";
import { type Check, check, listNames } from "./check.ts";

/** An entry of the root that lokt will not use as it stands. */
export interface Misplaced {
  /** Path relative to the root. */
  path: string;
  problem: "symbolic link" | "not a directory" | "not a file";
  /** A shell command that puts it right. */
  fix: string;
}

type Expected = "directory" | "file" | "any";

const ROTATED = /^audit\.log\.[0-9]+$/;

/**
 * Looks at every place lokt uses, never following a link: the root's directories, the entries
 * of each (lock, freeze and fence files, queue directories and their tickets, slot directories
 * and their files, temporary files),
 * the audit log and its rotations. Entries that cannot be examined are left to the other checks.
 */
export function scanLayout(layout: Layout): Misplaced[] {
  const found: Misplaced[] = [];
  const rel = (path: string) => path.slice(layout.root.length + 1);
  /** True when `path` is a real directory worth looking into. */
  const look = (path: string, expected: Expected): boolean => {
    let info: Deno.FileInfo | undefined;
    try {
      info = lstatOrUndefined(path);
    } catch {
      return false; // the permissions check says why
    }
    if (info === undefined) return false;
    if (info.isSymlink) {
      const fix = expected === "directory" ? `rm ${path} && mkdir -m 700 ${path}` : `rm ${path}`;
      found.push({ path: rel(path), problem: "symbolic link", fix });
      return false;
    }
    if (expected === "directory" && !info.isDirectory) {
      const fix = `mv ${path} ${path}.moved && mkdir -m 700 ${path}`;
      found.push({ path: rel(path), problem: "not a directory", fix });
    }
    if (expected === "file" && !info.isFile) {
      found.push({ path: rel(path), problem: "not a file", fix: `mv ${path} ${path}.moved` });
    }
    return info.isDirectory;
  };
  const names = (dir: string): string[] => {
    try {
      return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    } catch {
      return [];
    }
  };

  // Lock and freeze files that are directories are reported by the corrupt_locks check.
  for (const dir of [layout.locks, layout.freezes, layout.tmp]) {
    if (look(dir, "directory")) { for (const name of names(dir)) look(`${dir}/${name}`, "any"); }
  }
  if (look(layout.fences, "directory")) {
    for (const name of names(layout.fences)) look(`${layout.fences}/${name}`, "file");
  }
  // One directory per name: its queue's tickets, or the files of its slots.
  for (const parent of [layout.queue, layout.slots]) {
    if (!look(parent, "directory")) continue;
    for (const name of names(parent)) {
      const dir = `${parent}/${name}`;
      if (look(dir, "directory")) {
        for (const entry of names(dir)) look(`${dir}/${entry}`, "any");
      }
    }
  }
  look(layout.audit, "file");
  for (const name of names(layout.root).filter((n) => ROTATED.test(n))) {
    look(`${layout.root}/${name}`, "file");
  }
  return found;
}

/** Judges what {@link scanLayout} found. Pure. */
export function layoutCheck(found: readonly Misplaced[]): Check {
  const details = { entries: found.map((m) => ({ ...m })) };
  if (found.length === 0) {
    return check("layout", "ok", "no symbolic links or misplaced entries in the root", {
      details,
    });
  }
  const links = found.some((m) => m.problem === "symbolic link");
  return check(
    "layout",
    "fail",
    `${found.length} entr${found.length === 1 ? "y" : "ies"} lokt refuses to use: ` +
      listNames(found.map((m) => `${m.path} (${m.problem})`), 20) +
      (links ? "; lokt never follows a link in its root, which could lead outside it" : ""),
    { hint: found.map((m) => m.fix).join("; "), details },
  );
}
