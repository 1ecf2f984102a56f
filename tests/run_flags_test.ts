import { assert, assertEquals } from "./helpers/assert.ts";
import { REPO } from "./helpers/cli.ts";
import { RUN_FLAG, V8_FLAGS } from "../src/run_flags.ts";
import { wrapperScript } from "../scripts/install_local.ts";

// lokt's V8 flags are written out where TypeScript cannot reach (deno.json's tasks, the release
// workflow); these tests keep every copy equal to src/run_flags.ts.

Deno.test("the tasks that run lokt pass its V8 flags", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).tasks;
  for (const task of ["lokt", "demo"]) {
    assert(
      tasks[task].startsWith(`deno run -A ${RUN_FLAG} main.ts`),
      `task ${task}: ${tasks[task]}`,
    );
  }
});

Deno.test("the release binaries are compiled with lokt's V8 flags", () => {
  const workflow = Deno.readTextFileSync(`${REPO}/.github/workflows/release.yml`);
  const compile = workflow.split("\n").filter((line) => /^\s*deno compile /.test(line));
  assertEquals(compile.length, 1, "one compile line");
  assert(compile[0].includes(` ${RUN_FLAG} `), compile[0]);
});

Deno.test("the wrapper of deno task install runs lokt with its V8 flags", () => {
  const script = wrapperScript("/src/lokt", "/usr/bin/deno");
  assert(script.includes(` run -A ${RUN_FLAG} `), script);
});

Deno.test("V8 knows every one of lokt's flags", async () => {
  // An unknown flag makes Deno exit 1 before running anything.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", RUN_FLAG, "console.log('ran')"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals([out.code, text.trim()], [0, "ran"], `${V8_FLAGS}: ${text}`);
});
