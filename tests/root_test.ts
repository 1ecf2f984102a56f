/** Root discovery on real directories: `LOKT_ROOT`, the git common dir, `.lokt`, `./.lokt`. */

import { assertEquals, assertMatch } from "./helpers/assert.ts";
import { tempDir } from "./helpers/cli.ts";
import { findRoot } from "../src/root.ts";

type Env = Record<string, string>;
const lookup = (env: Env) => (name: string) => env[name];

/** A main checkout at `<base>/main` with a `.git` directory, as `git init` leaves it. */
function mainCheckout(base: string): { top: string; gitDir: string } {
  const top = `${base}/main`;
  const gitDir = `${top}/.git`;
  Deno.mkdirSync(`${gitDir}/objects`, { recursive: true });
  Deno.mkdirSync(`${gitDir}/refs`, { recursive: true });
  Deno.writeTextFileSync(`${gitDir}/HEAD`, "ref: refs/heads/main\n");
  return { top, gitDir };
}

/**
 * A linked worktree at `<base>/<name>`, laid out as `git worktree add` does: its `.git` is a file
 * `gitdir: <main>/.git/worktrees/<name>`, and that directory's `commondir` says `../..`.
 */
function linkedWorktree(
  base: string,
  gitDir: string,
  name: string,
  options: { pointer?: string } = {},
): string {
  const top = `${base}/${name}`;
  const admin = `${gitDir}/worktrees/${name}`;
  Deno.mkdirSync(top, { recursive: true });
  Deno.mkdirSync(admin, { recursive: true });
  Deno.writeTextFileSync(`${admin}/commondir`, "../..\n");
  Deno.writeTextFileSync(`${admin}/gitdir`, `${top}/.git\n`);
  Deno.writeTextFileSync(`${admin}/HEAD`, "ref: refs/heads/wt\n");
  Deno.writeTextFileSync(`${top}/.git`, `gitdir: ${options.pointer ?? admin}\n`);
  return top;
}

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("LOKT_ROOT wins over a git repository and a .lokt directory", () => {
  using dir = tempDir();
  const { top } = mainCheckout(dir.path);
  Deno.mkdirSync(`${top}/.lokt`);
  const root = findRoot(lookup({ LOKT_ROOT: `${dir.path}/elsewhere` }), top);
  assertEquals([root.path, root.method], [`${dir.path}/elsewhere`, "env"]);
  assertMatch(root.detail, /^LOKT_ROOT=/);
});

Deno.test("a relative LOKT_ROOT is taken from the current directory; a blank one is ignored", () => {
  using dir = tempDir();
  assertEquals(findRoot(lookup({ LOKT_ROOT: "locks/../r" }), dir.path).path, `${dir.path}/r`);
  const blank = findRoot(lookup({ LOKT_ROOT: "  " }), dir.path);
  assertEquals([blank.path, blank.method], [`${dir.path}/.lokt`, "cwd"]);
});

Deno.test("in a checkout with a .git directory the root is <git dir>/lokt, from any subdirectory", () => {
  using dir = tempDir();
  const { top, gitDir } = mainCheckout(dir.path);
  Deno.mkdirSync(`${top}/src/deep`, { recursive: true });
  for (const cwd of [top, `${top}/src`, `${top}/src/deep`]) {
    const root = findRoot(lookup({}), cwd);
    assertEquals([root.path, root.method], [`${gitDir}/lokt`, "git"], cwd);
  }
});

Deno.test("a linked worktree uses the same root as the main checkout", () => {
  using dir = tempDir();
  const { top, gitDir } = mainCheckout(dir.path);
  const worktree = linkedWorktree(dir.path, gitDir, "feature");
  Deno.mkdirSync(`${worktree}/sub`);
  const fromMain = findRoot(lookup({}), top);
  const fromWorktree = findRoot(lookup({}), `${worktree}/sub`);
  assertEquals(fromWorktree.path, fromMain.path);
  assertEquals([fromWorktree.path, fromWorktree.method], [`${gitDir}/lokt`, "git"]);
});

Deno.test("a worktree's relative gitdir pointer is read from the worktree's directory", () => {
  using dir = tempDir();
  const { gitDir } = mainCheckout(dir.path);
  const worktree = linkedWorktree(dir.path, gitDir, "rel", {
    pointer: "../main/.git/worktrees/rel",
  });
  assertEquals(findRoot(lookup({}), worktree).path, `${gitDir}/lokt`);
});

Deno.test("a worktree's commondir is resolved physically when its gitdir is reached through a symlink", () => {
  using dir = tempDir();
  const { gitDir } = mainCheckout(dir.path);
  // `<base>/admin` links to the main repository's worktrees/ directory: climbing `../..` from
  // `<base>/admin/wt` must reach `<main>/.git`, not `<base>`.
  Deno.mkdirSync(`${gitDir}/worktrees`);
  Deno.symlinkSync(`${gitDir}/worktrees`, `${dir.path}/admin`);
  const worktree = linkedWorktree(dir.path, gitDir, "wt", { pointer: `${dir.path}/admin/wt` });
  assertEquals(findRoot(lookup({}), worktree).path, `${gitDir}/lokt`);
});

Deno.test("a .git file without commondir (a submodule) uses the git dir it points at", () => {
  using dir = tempDir();
  const { top, gitDir } = mainCheckout(dir.path);
  const moduleDir = `${gitDir}/modules/lib`;
  Deno.mkdirSync(moduleDir, { recursive: true });
  Deno.mkdirSync(`${top}/lib`);
  Deno.writeTextFileSync(`${top}/lib/.git`, "gitdir: ../.git/modules/lib\n");
  assertEquals(findRoot(lookup({}), `${top}/lib`).path, `${moduleDir}/lokt`);
});

Deno.test("a .git file that is not a gitdir pointer is passed over for the parent's repository", () => {
  using dir = tempDir();
  const { top, gitDir } = mainCheckout(dir.path);
  Deno.mkdirSync(`${top}/odd`);
  Deno.writeTextFileSync(`${top}/odd/.git`, "not a pointer\n");
  assertEquals(findRoot(lookup({}), `${top}/odd`).path, `${gitDir}/lokt`);
});

Deno.test("GIT_DIR names the repository, and a worktree's GIT_DIR leads to the common dir", () => {
  using dir = tempDir();
  const { gitDir } = mainCheckout(dir.path);
  const worktree = linkedWorktree(dir.path, gitDir, "wt");
  Deno.mkdirSync(`${dir.path}/outside`);
  const outside = `${dir.path}/outside`;

  const plain = findRoot(lookup({ GIT_DIR: gitDir }), outside);
  assertEquals([plain.path, plain.method], [`${gitDir}/lokt`, "git"]);
  assertMatch(plain.detail, /\(GIT_DIR\)$/);

  const relative = findRoot(lookup({ GIT_DIR: ".git" }), `${dir.path}/main`);
  assertEquals(relative.path, `${gitDir}/lokt`);

  const linked = findRoot(lookup({ GIT_DIR: `${gitDir}/worktrees/wt` }), worktree);
  assertEquals(linked.path, `${gitDir}/lokt`);

  const common = findRoot(
    lookup({ GIT_DIR: `${gitDir}/worktrees/wt`, GIT_COMMON_DIR: gitDir }),
    outside,
  );
  assertEquals(common.path, `${gitDir}/lokt`);
});

Deno.test("outside git, the nearest .lokt directory in the current or a parent directory is used", () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/a/.lokt`, { recursive: true });
  Deno.mkdirSync(`${dir.path}/a/b/c`, { recursive: true });
  const fromDeep = findRoot(lookup({}), `${dir.path}/a/b/c`);
  assertEquals([fromDeep.path, fromDeep.method], [`${dir.path}/a/.lokt`, "dotlokt"]);

  Deno.mkdirSync(`${dir.path}/a/b/.lokt`);
  assertEquals(findRoot(lookup({}), `${dir.path}/a/b/c`).path, `${dir.path}/a/b/.lokt`);
});

Deno.test("a .lokt file (not a directory) does not count", () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/a`);
  Deno.writeTextFileSync(`${dir.path}/a/.lokt`, "");
  const root = findRoot(lookup({}), `${dir.path}/a`);
  assertEquals([root.path, root.method], [`${dir.path}/a/.lokt`, "cwd"]);
});

Deno.test("outside git with no .lokt anywhere, the root is ./.lokt, and nothing is created", () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/project`);
  const root = findRoot(lookup({}), `${dir.path}/project`);
  assertEquals([root.path, root.method], [`${dir.path}/project/.lokt`, "cwd"]);
  assertMatch(root.detail, /no git repository or \.lokt found/);
  assertEquals(entries(`${dir.path}/project`), []);
});

Deno.test("finding the root never creates anything, in git or out", () => {
  using dir = tempDir();
  const { top, gitDir } = mainCheckout(dir.path);
  const worktree = linkedWorktree(dir.path, gitDir, "wt");
  const before = [entries(top), entries(gitDir), entries(worktree)];
  findRoot(lookup({}), top);
  findRoot(lookup({}), worktree);
  findRoot(lookup({ GIT_DIR: gitDir }), top);
  assertEquals([entries(top), entries(gitDir), entries(worktree)], before);
});
