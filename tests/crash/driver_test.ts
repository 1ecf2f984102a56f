import { assertMatch, assertRejects } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { assertCommandsOffered, KILLED_COMMANDS } from "./driver.ts";

Deno.test("the crash suite refuses a CLI that lacks a command it kills", async () => {
  using dir = tempDir();
  for (const missing of KILLED_COMMANDS) {
    const main = `${dir.path}/${missing}.ts`;
    Deno.writeTextFileSync(main, `Deno.exit(Deno.args[0] === "${missing}" ? 64 : 0);\n`);
    const error = await assertRejects(assertCommandsOffered(main), Error);
    assertMatch(error.message, new RegExp(`^the CLI has no ${missing}$`));
  }
});

Deno.test("the CLI offers every command the crash suite kills", async () => {
  await assertCommandsOffered();
});
