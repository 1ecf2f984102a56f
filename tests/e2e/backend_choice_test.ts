/**
 * A shared backend chosen in LOKT_BACKEND or lokt.jsonc is used, never silently replaced by
 * files: a command that uses locks, the MCP server and the library connect to it (here: a host
 * that does not resolve, or a closed port, so exit 1 or a thrown error with the URL masked and
 * nothing written). Through the real entry point and through mod.ts.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { acquire, LoktError } from "../../mod.ts";

function repository(path: string, config?: string): void {
  Deno.mkdirSync(`${path}/.git/objects`, { recursive: true });
  Deno.writeTextFileSync(`${path}/.git/HEAD`, "ref: refs/heads/main\n");
  if (config !== undefined) Deno.writeTextFileSync(`${path}/lokt.jsonc`, config);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The commands that reach the chosen backend through the seam. */
const ON_THE_SEAM = [
  ["lock", "x"],
  ["guard", "x", "--", "true"],
  ["unlock", "x"],
  ["freeze", "x", "--ttl", "1m"],
  ["unfreeze", "x"],
  ["exists", "x"],
  ["status"],
  ["status", "x", "--json"],
  ["why", "x"],
  ["audit"],
  ["mcp"],
];

Deno.test("lokt.jsonc choosing PostgreSQL: every lock command goes to that database, and touches no file", async () => {
  using dir = tempDir();
  repository(
    dir.path,
    '{\n  // the team database\n  "backend": "postgres://lokt@db.internal/lokt",\n  "namespace": "acme/web"\n}\n',
  );
  const root = `${dir.path}/.lokt-root`;
  const env = holderEnv(root, "agent-a");
  for (const args of ON_THE_SEAM) {
    const run = await lokt(args, { env, cwd: dir.path });
    assertEquals(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
    assertMatch(
      run.stderr,
      /^error: cannot use the lock database postgres:\/\/lokt@db\.internal\/lokt: unknown host/,
    );
  }
  assertEquals(exists(root), false, "no lock root was created");
  // Without LOKT_ROOT the root is found through .git, from a subdirectory, and so is lokt.jsonc.
  const { LOKT_ROOT: _, ...gitEnv } = env;
  Deno.mkdirSync(`${dir.path}/src/deep`, { recursive: true });
  const viaGit = await lokt(["lock", "x"], { env: gitEnv, cwd: `${dir.path}/src/deep` });
  assertEquals(viaGit.code, 1, viaGit.stderr);
  assertMatch(viaGit.stderr, /cannot use the lock database postgres:\/\/lokt@db\.internal/);
  assertEquals(exists(`${dir.path}/.git/lokt`), false, "no lock root in the git dir");

  // LOKT_BACKEND=files wins over the file; version needs no backend.
  const files = await lokt(["lock", "x"], {
    env: { ...env, LOKT_BACKEND: "files" },
    cwd: dir.path,
  });
  assertEquals(files.code, 0, files.stderr);
  assertEquals(exists(`${root}/locks/x.json`), true);
  const version = await lokt(["version"], { env, cwd: dir.path });
  assertEquals(version.code, 0, version.stderr);
});

Deno.test("LOKT_BACKEND choosing PostgreSQL is used, its password masked in every error; an unknown one is a usage error", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const url = "postgres://lokt:s3cret@127.0.0.1:1/lokt";
  const run = await lokt(["lock", "x", "--json"], {
    env: holderEnv(root, "a", { LOKT_BACKEND: url, LOKT_NAMESPACE: "acme/web" }),
    cwd: dir.path,
  });
  assertEquals(run.code, 1, run.stderr);
  assertNotMatch(run.stderr + run.stdout, /s3cret/);
  const error = JSON.parse(run.stdout).error;
  assertEquals(error.code, "io");
  assertMatch(
    error.message,
    /^cannot use the lock database postgres:\/\/lokt:\*\*\*@127\.0\.0\.1:1\/lokt: connection refused/,
  );
  const unknown = await lokt(["exists", "x"], {
    env: holderEnv(root, "a", { LOKT_BACKEND: "redis://cache" }),
    cwd: dir.path,
  });
  assertEquals(unknown.code, 64, unknown.stderr);
  assertMatch(unknown.stderr, /LOKT_BACKEND=redis:\/\/cache names no backend/);
  assertEquals(exists(root), false);
});

Deno.test("the library connects to a shared backend chosen in the environment unless given a root", async () => {
  using dir = tempDir();
  const saved = ["LOKT_BACKEND", "LOKT_NAMESPACE"].map((k) => [k, Deno.env.get(k)] as const);
  Deno.env.set("LOKT_BACKEND", "postgresql://lokt:s3cret@127.0.0.1:1/lokt");
  Deno.env.set("LOKT_NAMESPACE", "acme/web");
  try {
    const started = performance.now();
    let thrown: unknown;
    try {
      await acquire("x", { cwd: dir.path });
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof LoktError, `acquire failed with a LoktError, not ${thrown}`);
    assertEquals(thrown.code, "io");
    assertMatch(
      thrown.message,
      /^cannot use the lock database postgresql:\/\/lokt:\*\*\*@127\.0\.0\.1:1\/lokt: connection refused/,
    );
    assertNotMatch(thrown.message + (thrown.hint ?? ""), /s3cret/);
    assert(performance.now() - started < 6_000, "within the connect timeout");
    assertEquals([...Deno.readDirSync(dir.path)], [], "nothing written");
    // A root given by the caller is the file backend by choice.
    await using held = await acquire("x", { root: `${dir.path}/root` });
    assertEquals(held.fence, 1);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
