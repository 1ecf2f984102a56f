/**
 * Choosing a backend: `LOKT_BACKEND`, else `lokt.jsonc`, else files; the namespace from
 * `LOKT_NAMESPACE`, else `lokt.jsonc`, else the origin remote read from git's config file; bad
 * values as clear errors with the exit codes of the error taxonomy. Repositories are real
 * directories with a `.git` of their own.
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { noPostgres, startCluster } from "../helpers/postgres.ts";
import {
  chooseBackend,
  normalizeRemote,
  openBackend,
  originUrl,
  parseBackendValue,
} from "../../src/backends/factory.ts";
import { exitCodeFor } from "../../src/cli/exit.ts";
import { ConfigError, UsageError } from "../../src/errors.ts";
import { BackendUnavailableError } from "../../src/backends/postgres/errors.ts";
import { localClaim, probe } from "./fixture.ts";

const ACTOR = { owner: "tester", host: probe.machine().host, pid: Deno.pid, agentId: "t" };

/** A repository in a temporary directory: `.git/config` with `origin`, and `lokt.jsonc`. */
function repo(options: { origin?: string; config?: string } = {}) {
  const dir = tempDir("lokt-factory-");
  Deno.mkdirSync(`${dir.path}/.git`);
  Deno.mkdirSync(`${dir.path}/sub/deeper`, { recursive: true });
  const remote = options.origin === undefined
    ? ""
    : `[remote "origin"]\n\turl = ${options.origin}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`;
  Deno.writeTextFileSync(
    `${dir.path}/.git/config`,
    `[core]\n\tbare = false\n${remote}[branch "main"]\n\tremote = origin\n`,
  );
  if (options.config !== undefined) {
    Deno.writeTextFileSync(`${dir.path}/lokt.jsonc`, options.config);
  }
  return dir;
}

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("backend values: files, postgres:// and postgresql:// URLs; anything else is none", () => {
  assertEquals(parseBackendValue("files"), { kind: "files" });
  assertEquals(parseBackendValue(" postgres://lokt@db/lokt "), {
    kind: "postgres",
    url: "postgres://lokt@db/lokt",
  });
  assertEquals(parseBackendValue("postgresql://db/x")?.kind, "postgres");
  for (const bad of ["file", "Files", "redis://db", "etcd://x", "postgres:/db", "mysql://db"]) {
    assertEquals(parseBackendValue(bad), undefined, bad);
  }
});

Deno.test("remotes normalize to host and path, without scheme, user, port or .git", () => {
  const table: [string, string | undefined][] = [
    ["git@github.com:acme/web.git", "github.com/acme/web"],
    ["https://github.com/acme/web", "github.com/acme/web"],
    ["https://github.com/acme/web.git/", "github.com/acme/web"],
    [
      "https://user:token@GitLab.example.com/group/sub/proj.git",
      "gitlab.example.com/group/sub/proj",
    ],
    ["ssh://git@github.com:22/acme/web.git", "github.com/acme/web"],
    ["ssh://git@host.internal/~alice/tools.git", "host.internal/alice/tools"],
    ["git://example.org/pub/repo", "example.org/pub/repo"],
    ["host.internal:repos/web", "host.internal/repos/web"],
    ["/srv/git/web.git", undefined],
    ["../web", undefined],
    ["file:///srv/git/web.git", undefined],
    ["https://github.com/", undefined],
  ];
  for (const [remote, expected] of table) assertEquals(normalizeRemote(remote), expected, remote);
});

Deno.test("the origin remote's first url is read from a git config file", () => {
  const text = [
    "[core]",
    "\turl = not-this",
    '[remote "upstream"]',
    "\turl = git@github.com:other/web.git",
    '[remote "origin"]',
    "\tfetch = +refs/heads/*:refs/remotes/origin/*",
    '\turl = "git@github.com:acme/web.git" ; a comment',
    "\turl = https://mirror.example/acme/web",
  ].join("\n");
  assertEquals(originUrl(text), "git@github.com:acme/web.git");
  assertEquals(originUrl('[remote "origin"]\n  URL = https://h/a/b # note\n'), "https://h/a/b");
  assertEquals(originUrl("[core]\n\tbare = false\n"), undefined);
});

Deno.test("files by default, with the lock root as the location", () => {
  using dir = repo({ origin: "git@github.com:acme/web.git" });
  const choice = chooseBackend({ env: envOf({}), cwd: `${dir.path}/sub/deeper` });
  assertEquals(choice.kind, "files");
  assertEquals(choice.info.source, "default");
  assertEquals(choice.info.location, `${Deno.realPathSync(dir.path)}/.git/lokt`);
  assertEquals(choice.info.namespace, undefined);
});

Deno.test("LOKT_BACKEND wins over lokt.jsonc; lokt.jsonc (with comments) over the default", () => {
  using dir = repo({
    origin: "https://github.com/acme/web.git",
    config:
      '{\n  // shared by the runners\n  "backend": "postgres://lokt@db.internal:5432/lokt",\n}\n',
  });
  const cwd = `${dir.path}/sub`;
  const fromConfig = chooseBackend({ env: envOf({}), cwd });
  assert(fromConfig.kind === "postgres");
  assertEquals(fromConfig.info, {
    kind: "postgres",
    location: "postgres://lokt@db.internal:5432/lokt",
    namespace: "github.com/acme/web",
    source: `${dir.path}/lokt.jsonc`,
    namespaceSource: "origin remote https://github.com/acme/web.git",
  });
  const files = chooseBackend({ env: envOf({ LOKT_BACKEND: "files" }), cwd });
  assertEquals([files.kind, files.info.source], ["files", "LOKT_BACKEND"]);
  const url = chooseBackend({
    env: envOf({ LOKT_BACKEND: "postgresql://ci:s3cret@db2/locks", LOKT_NAMESPACE: "acme/ci" }),
    cwd,
  });
  assertEquals(url.info, {
    kind: "postgres",
    location: "postgresql://ci:***@db2/locks",
    namespace: "acme/ci",
    source: "LOKT_BACKEND",
    namespaceSource: "LOKT_NAMESPACE",
  });
});

Deno.test("the namespace: LOKT_NAMESPACE, else lokt.jsonc, else the origin remote", () => {
  using dir = repo({
    origin: "git@github.com:acme/web.git",
    config: '{ "backend": "postgres://db/lokt", "namespace": "acme/web-main" }',
  });
  const pick = (env: Record<string, string>) =>
    chooseBackend({ env: envOf(env), cwd: dir.path }).info;
  assertEquals(pick({}).namespace, "acme/web-main");
  assertEquals(pick({ LOKT_NAMESPACE: "team/x" }).namespace, "team/x");
  Deno.writeTextFileSync(`${dir.path}/lokt.jsonc`, '{ "backend": "postgres://db/lokt" }');
  assertEquals([pick({}).namespace, pick({}).namespaceSource], [
    "github.com/acme/web",
    "origin remote git@github.com:acme/web.git",
  ]);
});

Deno.test("a linked worktree reads the origin remote from the main repository's config", () => {
  using main = repo({ origin: "https://github.com/acme/web" });
  using linked = tempDir("lokt-factory-wt-");
  Deno.mkdirSync(`${main.path}/.git/worktrees/wt`, { recursive: true });
  Deno.writeTextFileSync(`${main.path}/.git/worktrees/wt/commondir`, "../..\n");
  Deno.writeTextFileSync(`${linked.path}/.git`, `gitdir: ${main.path}/.git/worktrees/wt\n`);
  const choice = chooseBackend({
    env: envOf({ LOKT_BACKEND: "postgres://db/lokt" }),
    cwd: linked.path,
  });
  assertEquals(choice.info.namespace, "github.com/acme/web");
});

Deno.test("bad values are clear errors: usage (64) for the environment, config (1) for the file", () => {
  using dir = repo({ origin: "git@github.com:acme/web.git" });
  const choose = (env: Record<string, string>) => () =>
    chooseBackend({ env: envOf(env), cwd: dir.path });
  const cases: [Record<string, string>, RegExp, number][] = [
    [
      { LOKT_BACKEND: "redis://:pw@cache/0" },
      /LOKT_BACKEND=redis:\/\/:\*\*\*@cache\/0 names no backend/,
      64,
    ],
    [{ LOKT_BACKEND: "file" }, /names no backend/, 64],
    [
      { LOKT_BACKEND: "postgres://db/x", LOKT_NAMESPACE: "two words" },
      /LOKT_NAMESPACE is not usable: it contains spaces/,
      64,
    ],
  ];
  for (const [env, message, exit] of cases) {
    const error = assertThrows(choose(env), UsageError);
    assertMatch(error.message, message);
    assert(error.hint !== undefined, "a hint says what to do");
    assertEquals(exitCodeFor(error), exit);
  }
  Deno.writeTextFileSync(`${dir.path}/lokt.jsonc`, '{ "backend": "mysql://db/x" }');
  const bad = assertThrows(choose({}), ConfigError);
  assertMatch(bad.message, /lokt\.jsonc: "backend" is "mysql:\/\/db\/x", which names no backend/);
  assertEquals(exitCodeFor(bad), 1);
  Deno.writeTextFileSync(`${dir.path}/lokt.jsonc`, '{ "backend": 5432 }');
  assertMatch(assertThrows(choose({}), ConfigError).message, /"backend" must be a string/);
  Deno.writeTextFileSync(`${dir.path}/lokt.jsonc`, '{ "backend": "postgres://db/x", }} ');
  assertEquals(exitCodeFor(assertThrows(choose({}), ConfigError)), 1);
});

Deno.test("a shared backend without any namespace is a usage error that names the fix", () => {
  using dir = repo({ origin: "/srv/git/web.git" });
  const error = assertThrows(
    () => chooseBackend({ env: envOf({ LOKT_BACKEND: "postgres://db/x" }), cwd: dir.path }),
    UsageError,
  );
  assertMatch(error.message, /needs a namespace.*origin remote \/srv\/git\/web\.git has no host/);
  assertMatch(error.hint!, /LOKT_NAMESPACE.*"namespace" in lokt\.jsonc.*origin remote/);
  assertEquals(exitCodeFor(error), 64);
  using bare = tempDir("lokt-factory-none-");
  assertThrows(
    () => chooseBackend({ env: envOf({ LOKT_BACKEND: "postgres://db/x" }), cwd: bare.path }),
    UsageError,
  );
});

Deno.test("a malformed URL fails when the backend is opened: exit 1, password masked", async () => {
  using dir = repo();
  const choice = chooseBackend({
    env: envOf({ LOKT_BACKEND: "postgres://lokt:s3cret@db:port/x", LOKT_NAMESPACE: "a/b" }),
    cwd: dir.path,
  });
  const error = await assertRejects(
    openBackend(choice, { probe, actor: ACTOR, env: envOf({}) }),
    BackendUnavailableError,
  );
  assertMatch(error.message, /postgres:\/\/lokt:\*\*\*@db:port\/x/);
  assert(!error.message.includes("s3cret"), error.message);
  assertEquals(exitCodeFor(error), 1);
});

Deno.test("the chosen file backend works in the chosen root", async () => {
  using dir = repo();
  const choice = chooseBackend({
    env: envOf({ LOKT_ROOT: `${dir.path}/locks-here` }),
    cwd: dir.path,
  });
  await using backend = await openBackend(choice, { probe, actor: ACTOR, env: envOf({}) });
  assertEquals(backend.info, {
    kind: "files",
    location: `${dir.path}/locks-here`,
    source: "default",
  });
  const got = await backend.acquire({ name: "x", kind: "guard", claim: localClaim("a") });
  assertEquals(got.kind, "acquired");
  Deno.statSync(`${dir.path}/locks-here/locks/x.json`);
});

Deno.test({
  name: "the chosen PostgreSQL backend is loaded and opened in its namespace",
  ignore: noPostgres(),
}, async () => {
  await using cluster = await startCluster();
  using dir = repo({ origin: "git@github.com:acme/web.git" });
  const choice = chooseBackend({ env: envOf({ LOKT_BACKEND: cluster.url }), cwd: dir.path });
  await using backend = await openBackend(choice, { probe, actor: ACTOR, env: envOf({}) });
  assertEquals(
    [backend.info.kind, backend.info.namespace, backend.info.source],
    ["postgres", "github.com/acme/web", "LOKT_BACKEND"],
  );
  const got = await backend.acquire({ name: "x", kind: "guard", claim: localClaim("a") });
  assertEquals(got.kind, "acquired");
});
