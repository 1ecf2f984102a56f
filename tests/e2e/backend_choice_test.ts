/**
 * A shared backend chosen in LOKT_BACKEND or lokt.jsonc is refused by every command that uses
 * locks and by the library, never silently replaced by files (the commands do not run on the
 * seam yet): through the real entry point and through mod.ts.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { acquire } from "../../mod.ts";

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

Deno.test("lokt.jsonc choosing PostgreSQL: every lock command refuses with the file named, and touches nothing", async () => {
  using dir = tempDir();
  repository(
    dir.path,
    '{\n  // the team database\n  "backend": "postgres://lokt@db.internal/lokt",\n  "namespace": "acme/web"\n}\n',
  );
  const root = `${dir.path}/.lokt-root`;
  const env = holderEnv(root, "agent-a");
  for (
    const args of [
      ["lock", "x"],
      ["guard", "x", "--", "true"],
      ["exists", "x"],
      ["status"],
      ["unlock", "x"],
      ["freeze", "x", "--ttl", "1m"],
      ["why", "x"],
      ["audit"],
    ]
  ) {
    const run = await lokt(args, { env, cwd: dir.path });
    assertEquals(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
    assertMatch(
      run.stderr,
      /^error: .*lokt\.jsonc chooses the PostgreSQL backend \(postgres:\/\/lokt@db\.internal\/lokt\)/,
    );
    assertMatch(run.stderr, /\nhint: to use files on this machine, set LOKT_BACKEND=files/);
  }
  assertEquals(exists(root), false, "no lock root was created");
  // Without LOKT_ROOT the root is found through .git, from a subdirectory, and so is lokt.jsonc.
  const { LOKT_ROOT: _, ...gitEnv } = env;
  Deno.mkdirSync(`${dir.path}/src/deep`, { recursive: true });
  const viaGit = await lokt(["lock", "x"], { env: gitEnv, cwd: `${dir.path}/src/deep` });
  assertEquals(viaGit.code, 1, viaGit.stderr);
  assertMatch(viaGit.stderr, /lokt\.jsonc chooses the PostgreSQL backend/);
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

Deno.test("LOKT_BACKEND choosing PostgreSQL is refused with its password masked; an unknown one is a usage error", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const url = "postgres://lokt:s3cret@db.internal:5432/lokt";
  const run = await lokt(["lock", "x", "--json"], {
    env: holderEnv(root, "a", { LOKT_BACKEND: url }),
    cwd: dir.path,
  });
  assertEquals(run.code, 1, run.stderr);
  assertNotMatch(run.stderr + run.stdout, /s3cret/);
  const error = JSON.parse(run.stdout).error;
  assertEquals(error.code, "invalid_config");
  assertMatch(
    error.message,
    /^LOKT_BACKEND chooses the PostgreSQL backend \(postgres:\/\/lokt:\*\*\*@/,
  );
  const unknown = await lokt(["exists", "x"], {
    env: holderEnv(root, "a", { LOKT_BACKEND: "redis://cache" }),
    cwd: dir.path,
  });
  assertEquals(unknown.code, 64, unknown.stderr);
  assertMatch(unknown.stderr, /LOKT_BACKEND=redis:\/\/cache names no backend/);
  assertEquals(exists(root), false);
});

Deno.test("the library refuses a shared backend chosen in the environment unless given a root", async () => {
  using dir = tempDir();
  const before = Deno.env.get("LOKT_BACKEND");
  Deno.env.set("LOKT_BACKEND", "postgresql://lokt@db/lokt");
  try {
    let thrown: unknown;
    try {
      await acquire("x", { cwd: dir.path });
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof Error, "acquire refused");
    assertMatch(thrown.message, /chooses the PostgreSQL backend/);
    // A root given by the caller is the file backend by choice.
    await using held = await acquire("x", { root: `${dir.path}/root` });
    assertEquals(held.fence, 1);
  } finally {
    if (before === undefined) Deno.env.delete("LOKT_BACKEND");
    else Deno.env.set("LOKT_BACKEND", before);
  }
});
