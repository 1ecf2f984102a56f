/** Doctor checks of the root directory itself: where it is, its permissions, and writability. */

import type { Layout } from "../locks/layout.ts";
import type { RootInfo } from "../root.ts";
import { randomHex } from "../locks/context.ts";
import { rotatedLogs } from "../audit/writer.ts";
import { type Check, check, listNames, octal } from "./check.ts";

/** What is at the root path. */
export type RootState = "directory" | "missing" | "not-directory";

/** Stats the root path without creating anything. */
export function rootState(path: string): RootState {
  try {
    return Deno.statSync(path).isDirectory ? "directory" : "not-directory";
  } catch {
    return "missing";
  }
}

/** Where the root is and how it was found. */
export function rootCheck(root: RootInfo, state: RootState): Check {
  const details = { path: root.path, method: root.method, detail: root.detail, state };
  if (state === "not-directory") {
    return check("root", "fail", `${root.path} exists but is not a directory`, {
      hint: "move that file away, or point LOKT_ROOT elsewhere",
      details,
    });
  }
  const where = state === "missing"
    ? `${root.path} (does not exist yet; the first lock creates it)`
    : root.path;
  if (root.method === "cwd") {
    return check("root", "warn", `${where}: ${root.detail}`, {
      hint: "lokt run from another directory will use another root: run it from the " +
        "repository, create a .lokt directory where it should live, or set LOKT_ROOT",
      details,
    });
  }
  return check("root", "ok", `${where}, from ${root.detail}`, { details });
}

/** One path's mode and owner, as permissions are judged. */
export interface PathMode {
  /** Path relative to the root (`""` is the root). */
  path: string;
  mode: number;
  uid: number | null;
  isDirectory: boolean;
}

/** Judges modes: directories 0700 and files 0600, all owned by `uid`. Pure. */
export function judgePermissions(
  modes: readonly PathMode[],
  uid: number | null,
  rootPath: string,
): Check {
  const label = (m: PathMode) => `${m.path || "."}${m.isDirectory ? "/" : ""} (${octal(m.mode)})`;
  const unusable = modes.filter((m) =>
    m.isDirectory ? (m.mode & 0o700) !== 0o700 : (m.mode & 0o600) !== 0o600
  );
  const open = modes.filter((m) => (m.mode & 0o077) !== 0);
  const foreign = uid === null ? [] : modes.filter((m) => m.uid !== null && m.uid !== uid);
  const details = {
    modes: Object.fromEntries(modes.map((m) => [m.path || ".", octal(m.mode)])),
    not_usable: unusable.map((m) => m.path || "."),
    group_or_other_access: open.map((m) => m.path || "."),
    other_owner: foreign.map((m) => m.path || "."),
  };
  if (unusable.length > 0) {
    return check(
      "permissions",
      "fail",
      `the owner cannot use ${listNames(unusable.map(label))}`,
      { hint: `chmod -R u+rwX ${rootPath}`, details },
    );
  }
  if (open.length > 0) {
    return check(
      "permissions",
      "warn",
      `group or others can access ${listNames(open.map(label))}; lokt expects 0700 directories`,
      { hint: `chmod -R go-rwx ${rootPath}`, details },
    );
  }
  if (foreign.length > 0) {
    return check(
      "permissions",
      "warn",
      `owned by another user: ${listNames(foreign.map(label))}`,
      { hint: `chown -R $(id -u) ${rootPath}, or use a root of your own (LOKT_ROOT)`, details },
    );
  }
  return check("permissions", "ok", `${modes.length} paths private to their owner`, { details });
}

/** Reads the modes of the root, its directories and its audit logs. */
export function readModes(layout: Layout): PathMode[] {
  const rel = (p: string) => p === layout.root ? "" : p.slice(layout.root.length + 1);
  const paths = [
    layout.root,
    layout.locks,
    layout.freezes,
    layout.fences,
    layout.queue,
    layout.tmp,
    layout.audit,
    ...rotatedLogs(layout.audit).map((r) => r.path),
  ];
  const modes: PathMode[] = [];
  for (const path of paths) {
    try {
      const info = Deno.lstatSync(path); // a link's target is not the root's: see the layout check
      if (info.mode === null || info.isSymlink) continue;
      modes.push({
        path: rel(path),
        mode: info.mode,
        uid: info.uid,
        isDirectory: info.isDirectory,
      });
    } catch {
      // not created yet
    }
  }
  return modes;
}

/**
 * Probes that the root works as lokt uses it: create a private file, hard-link it (how locks are
 * published), take a kernel lock on it (how inspect-then-act is guarded), then remove both.
 */
export function writableCheck(layout: Layout, pid: number): Check {
  let dir = layout.tmp;
  try {
    if (!Deno.lstatSync(dir).isDirectory) dir = layout.root; // never probe through a link
  } catch {
    dir = layout.root;
  }
  const probe = `${dir}/doctor.${pid}.${randomHex(4)}.tmp`;
  const linked = `${probe}.link`;
  const steps: Record<string, boolean> = { create: false, link: false, flock: false };
  let failure: { step: string; error: unknown } | undefined;
  try {
    const file = Deno.openSync(probe, { write: true, createNew: true, mode: 0o600 });
    steps.create = true;
    try {
      file.writeSync(new TextEncoder().encode("lokt doctor probe\n"));
      try {
        Deno.linkSync(probe, linked);
        steps.link = true;
      } catch (error) {
        failure = { step: "link", error };
      }
      try {
        file.lockSync(true);
        file.unlockSync();
        steps.flock = true;
      } catch (error) {
        failure ??= { step: "flock", error };
      }
    } finally {
      file.close();
    }
  } catch (error) {
    failure ??= { step: "create", error };
  } finally {
    for (const path of [linked, probe]) {
      try {
        Deno.removeSync(path);
      } catch {
        // never created
      }
    }
  }
  const details = { probe_dir: dir, ...steps };
  if (failure === undefined) {
    return check("writable", "ok", `can create, hard-link and lock files in ${dir}`, { details });
  }
  const why = failure.error instanceof Error ? failure.error.message : String(failure.error);
  const hints: Record<string, string> = {
    create: `make ${dir} writable by you (chmod u+rwx), or free some disk space`,
    link: "this file system has no hard links: put the root on a local disk (LOKT_ROOT)",
    flock: "this file system has no kernel file locks: put the root on a local disk (LOKT_ROOT)",
  };
  return check("writable", "fail", `cannot ${failure.step} a file in ${dir}: ${why}`, {
    hint: hints[failure.step],
    details,
  });
}
