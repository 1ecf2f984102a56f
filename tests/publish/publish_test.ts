/**
 * The JSR package: `deno publish --dry-run` in the repository must pass (slow types, docs,
 * file list), ship what `deno run -A jsr:@lokt/cli` needs, and change nothing on disk.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";

const REPO = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");

Deno.test("deno publish --dry-run accepts the package, ships the sources once and leaves the repo as it was", async () => {
  const watched = ["deno.json", "src/build_info.ts"];
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
  const files = ["main.ts", "mod.ts", "src/cli/entry.ts", "deno.json", "README.md", "LICENSE"];
  for (const file of files) {
    assert(text.includes(`${REPO}/${file} (`), `${file} is in the package\n${text}`);
  }
  // The engine ships once, as sources: no bundle beside it, no test hooks.
  for (const dir of ["dist/", "tests/", "scripts/", ".ci/", ".github/"]) {
    assert(!text.includes(`${REPO}/${dir}`), `${dir} stays out of the package\n${text}`);
  }
  assertEquals(watched.map((file) => Deno.readTextFileSync(`${REPO}/${file}`)), before);
});

Deno.test("the package's default export runs the CLI, as deno run -A jsr:@lokt/cli does", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "lokt-publish-" });
  try {
    const run = async (args: string[]) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: dir,
        env: { NO_COLOR: "1", LOKT_ROOT: `${dir}/root`, LOKT_NO_DETECT: "1" },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
    };
    const viaMod = await run(["run", "-A", `${REPO}/mod.ts`, "version"]);
    const viaMain = await run(["run", "-A", `${REPO}/main.ts`, "version"]);
    assertEquals(viaMod.code, 0);
    assertMatch(viaMod.stdout, /^lokt \S+ \(commit /);
    assertEquals(viaMod.stdout, viaMain.stdout);
    assertEquals((await run(["run", "-A", `${REPO}/mod.ts`, "exists", "nothing"])).code, 3);

    // Imported as a library, it runs nothing.
    const script = `import { withLock } from "${REPO}/mod.ts"; console.log(typeof withLock);`;
    assertEquals(await run(["eval", script]), { code: 0, stdout: "function\n" });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
