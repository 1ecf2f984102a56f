/**
 * The JSR package: `deno publish --dry-run` in the repository must pass (slow types, docs,
 * file list), ship what `deno run -A jsr:@lokt/cli` needs, and change nothing on disk.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";

const REPO = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");

Deno.test("deno publish --dry-run accepts the package, ships the bundle and leaves the repo as it was", async () => {
  const watched = ["deno.json", "src/build_info.ts", "dist/entry.js"];
  const before = watched.map((file) => Deno.readTextFileSync(`${REPO}/${file}`));

  const output = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);

  assertEquals(output.code, 0, text);
  assertMatch(text, /Dry run complete/);
  // main.ts runs dist/: a package without it would fail at the first `deno run jsr:@lokt/cli`.
  for (const file of ["main.ts", "mod.ts", "dist/entry.js", "deno.json", "README.md", "LICENSE"]) {
    assert(text.includes(`${REPO}/${file} (`), `${file} is in the package\n${text}`);
  }
  for (const dir of ["tests/", "scripts/", ".ci/", ".github/"]) {
    assert(!text.includes(`${REPO}/${dir}`), `${dir} stays out of the package\n${text}`);
  }
  assertEquals(watched.map((file) => Deno.readTextFileSync(`${REPO}/${file}`)), before);
});
