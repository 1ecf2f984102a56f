/** `run(argv, world)`: the in-process CLI entry. */

import { assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { holderEnv, loktInProcess, REPO, tempDir } from "../helpers/cli.ts";

Deno.test("a leading `--` (as `deno task lokt -- status` passes it) is skipped", async () => {
  using dir = tempDir();
  const env = holderEnv(`${dir.path}/root`, "agent-a");
  const status = await loktInProcess(["--", "status", "--json"], { env });
  assertEquals(status.code, 0, status.stderr);
  assertEquals(JSON.parse(status.stdout).locks, []);
  assertEquals((await loktInProcess(["--", "exists", "build"], { env })).code, 3);
});

Deno.test("only one leading `--` is skipped: a second one is not a command", async () => {
  using dir = tempDir();
  const env = holderEnv(`${dir.path}/root`, "agent-a");
  const result = await loktInProcess(["--", "--", "status"], { env });
  assertEquals(result.code, 64);
  assertMatch(result.stderr, /unknown command "--"/);
});

Deno.test("a lone `--` prints the overview and exits 64, like no arguments at all", async () => {
  const env = holderEnv("/nonexistent-root", "agent-a");
  const bare = await loktInProcess([], { env });
  const dashed = await loktInProcess(["--"], { env });
  assertEquals([dashed.code, dashed.stdout], [bare.code, bare.stdout]);
  assertEquals(dashed.code, 64);
});

Deno.test("`deno task lokt -- exists NAME` reaches the command through the task's `--`", async () => {
  using dir = tempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "lokt", "--", "exists", "build"],
    cwd: REPO,
    env: holderEnv(`${dir.path}/root`, "agent-a"),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 3, stderr);
  assertNotMatch(stderr, /unknown command/);
});
