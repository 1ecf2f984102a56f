/**
 * Where the lock root is: `LOKT_ROOT`; else `<git common dir>/lokt`, shared by every worktree of
 * the repository; else the nearest `.lokt` directory in the current or a parent directory; else
 * `./.lokt`. Git is never spawned: the repository layout is read directly. Nothing is created.
 * Also where the repository's `lokt.jsonc` is: at the top of the work tree.
 */

import { statOrUndefined } from "./file_info.ts";
import { dirname, resolve } from "./paths.ts";

/** How the root was found. */
export type RootMethod = "env" | "git" | "dotlokt" | "cwd";

/** The lock root and how it was found. */
export interface RootInfo {
  /** Absolute path of the root directory (it may not exist yet). */
  path: string;
  method: RootMethod;
  /** One line for people: what was found where. */
  detail: string;
  /** The top of the work tree, when the search for `.git` found it (where `lokt.jsonc` is). */
  workTree?: string;
}

function readTrimmed(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** The git dir named by a `.git` entry in `dir` (a directory, or a `gitdir:` file), if any. */
function gitDirAt(dir: string): string | undefined {
  const dotGit = `${dir}/.git`;
  const info = statOrUndefined(dotGit);
  if (info === undefined) return undefined;
  if (info.isDirectory) return dotGit;
  const pointer = readTrimmed(dotGit)?.match(/^gitdir:\s*(.+)$/m)?.[1];
  return pointer === undefined ? undefined : resolve(dir, pointer.trim());
}

/** The physical path (symlinks and `..` resolved by the kernel), else `path` normalized. */
function realOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return resolve("/", path);
  }
}

/** The common dir of a git dir: worktrees point at the main repository's through `commondir`. */
function commonDirOf(gitDir: string): string {
  const common = readTrimmed(`${gitDir}/commondir`);
  if (common === undefined || common === "") return realOr(gitDir);
  // Like git, resolve `commondir` physically: `..` from a git dir reached through a symlink
  // must climb the real directory, not the link's parent.
  const absolute = /^(\/|[A-Za-z]:[\\/])/.test(common);
  return realOr(absolute ? common : `${gitDir}/${common}`);
}

/**
 * The top of the work tree holding `cwd`: the nearest directory with a `.git` entry (a directory,
 * or the file a linked worktree has), else `cwd` itself.
 */
export function workTreeTop(cwd: string): string {
  const start = resolve("/", cwd);
  for (let dir = start;; dir = dirname(dir)) {
    if (statOrUndefined(`${dir}/.git`) !== undefined) return dir;
    if (dir === "/" || dir === dirname(dir)) return start;
  }
}

/** The name of the repository's lokt configuration, at the work tree's top. */
export const CONFIG_FILE = "lokt.jsonc";

/**
 * Where the repository's `lokt.jsonc` is for a process in `cwd` (it may not exist): at the top of
 * the work tree, committed, so every clone and worktree reads the same rules.
 */
export function configPath(cwd: string): string {
  return `${workTreeTop(cwd)}/${CONFIG_FILE}`;
}

/**
 * The git common dir of the repository holding `cwd` (where its `config` is, shared by every
 * worktree): from `GIT_DIR` / `GIT_COMMON_DIR` as git reads them, else the nearest `.git`
 * entry. Undefined outside a repository. Git is never spawned.
 */
export function gitCommonDir(
  env: (name: string) => string | undefined,
  cwd: string,
): string | undefined {
  const gitDirEnv = env("GIT_DIR");
  if (gitDirEnv !== undefined && gitDirEnv !== "") {
    const common = env("GIT_COMMON_DIR");
    return common ? realOr(resolve(cwd, common)) : commonDirOf(resolve(cwd, gitDirEnv));
  }
  for (let dir = resolve("/", cwd);; dir = dirname(dir)) {
    const gitDir = gitDirAt(dir);
    if (gitDir !== undefined) return commonDirOf(gitDir);
    if (dir === "/" || dir === dirname(dir)) return undefined;
  }
}

/** Finds the lock root for a process in `cwd` with environment `env`. */
export function findRoot(env: (name: string) => string | undefined, cwd: string): RootInfo {
  const fromEnv = env("LOKT_ROOT");
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const path = resolve(cwd, fromEnv.trim());
    return { path, method: "env", detail: `LOKT_ROOT=${fromEnv}` };
  }

  const gitDirEnv = env("GIT_DIR");
  if (gitDirEnv !== undefined && gitDirEnv !== "") {
    const common = env("GIT_COMMON_DIR");
    const commonDir = common ? realOr(resolve(cwd, common)) : commonDirOf(resolve(cwd, gitDirEnv));
    return {
      path: `${commonDir}/lokt`,
      method: "git",
      detail: `git common dir ${commonDir} (GIT_DIR)`,
    };
  }

  for (let dir = resolve("/", cwd);; dir = dirname(dir)) {
    const gitDir = gitDirAt(dir);
    if (gitDir !== undefined) {
      const commonDir = commonDirOf(gitDir);
      return {
        path: `${commonDir}/lokt`,
        method: "git",
        detail: `git common dir ${commonDir}`,
        workTree: dir,
      };
    }
    if (dir === "/" || dir === dirname(dir)) break;
  }

  for (let dir = resolve("/", cwd);; dir = dirname(dir)) {
    if (statOrUndefined(`${dir}/.lokt`)?.isDirectory) {
      return { path: `${dir}/.lokt`, method: "dotlokt", detail: `.lokt directory in ${dir}` };
    }
    if (dir === "/" || dir === dirname(dir)) break;
  }

  const path = resolve("/", `${cwd}/.lokt`);
  return { path, method: "cwd", detail: `no git repository or .lokt found; using ${path}` };
}
