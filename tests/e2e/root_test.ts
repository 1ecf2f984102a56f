/** End-to-end root discovery with a real `git init` and `git worktree add`. */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";

function hasGit(): boolean {
  try {
    return new Deno.Command("git", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const GIT = hasGit();
const NO_GIT = "git is not installed: the worktree tests need a real `git worktree add`";
if (!GIT) console.warn(`tests/e2e/root_test.ts: ${NO_GIT}`);

/** A holder's environment without LOKT_ROOT, so lokt finds the root itself. */
function envWithoutRoot(agent: string): Record<string, string> {
  const { LOKT_ROOT: _, ...env } = holderEnv("", agent);
  return env;
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/";

function git(cwd: string, ...args: string[]): void {
  const out = new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
    cwd,
    // A clean environment: a GIT_DIR inherited from a hook would redirect every command.
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dirOf(cwd),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert(out.success, `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A repository at `<base>/main` with one commit and a linked worktree at `<base>/linked`. */
function repoWithWorktree(base: string): { main: string; linked: string } {
  const main = `${base}/main`;
  const linked = `${base}/linked`;
  Deno.mkdirSync(main);
  git(main, "init", "-q");
  Deno.writeTextFileSync(`${main}/README`, "x\n");
  git(main, "add", "README");
  git(main, "commit", "-q", "-m", "first");
  git(main, "worktree", "add", "-q", "-b", "feature", linked);
  return { main, linked };
}

Deno.test({
  name: "a lock taken in the main checkout is held in a linked worktree, under .git/lokt",
  ignore: !GIT,
  async fn() {
    using dir = tempDir();
    const { main, linked } = repoWithWorktree(dir.path);
    const took = await lokt(["lock", "build", "--ttl", "5m"], {
      env: envWithoutRoot("agent-a"),
      cwd: main,
    });
    assertEquals(took.code, 0, took.stderr);
    assert(Deno.statSync(`${main}/.git/lokt/locks/build.json`).isFile, "lock under .git/lokt");

    Deno.mkdirSync(`${linked}/sub`);
    const denied = await lokt(["lock", "build"], { env: envWithoutRoot("agent-b"), cwd: linked });
    assertEquals(denied.code, 2, denied.stderr);
    assertMatch(denied.stderr, /lock "build" held by tester@/);
    const seen = await lokt(["exists", "build"], {
      env: envWithoutRoot("agent-b"),
      cwd: `${linked}/sub`,
    });
    assertEquals(seen.code, 0);
    assertEquals(
      [...Deno.readDirSync(linked)].map((e) => e.name).sort(),
      [".git", "README", "sub"],
      "nothing created in the worktree",
    );
  },
});

Deno.test({
  name: "LOKT_ROOT overrides the repository's root, in the main checkout and in a worktree",
  ignore: !GIT,
  async fn() {
    using dir = tempDir();
    const { main, linked } = repoWithWorktree(dir.path);
    const own = `${dir.path}/own-root`;
    const took = await lokt(["lock", "build"], { env: holderEnv(own, "agent-a"), cwd: main });
    assertEquals(took.code, 0, took.stderr);
    assert(Deno.statSync(`${own}/locks/build.json`).isFile, "lock under LOKT_ROOT");

    const inRepo = await lokt(["exists", "build"], { env: envWithoutRoot("agent-b"), cwd: linked });
    assertEquals(inRepo.code, 3, "the repository's own root does not have it");
    const viaEnv = await lokt(["lock", "build"], { env: holderEnv(own, "agent-b"), cwd: linked });
    assertEquals(viaEnv.code, 2, viaEnv.stderr);
  },
});

Deno.test("outside git, lokt uses ./.lokt in the current directory", async () => {
  using dir = tempDir();
  const took = await lokt(["lock", "build"], { env: envWithoutRoot("agent-a"), cwd: dir.path });
  assertEquals(took.code, 0, took.stderr);
  assert(Deno.statSync(`${dir.path}/.lokt/locks/build.json`).isFile, "lock under ./.lokt");
});
