/** `lokt rules`: the list, a command line tested against it, and problems with their places. */

import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, loktInProcess, tempDir } from "../helpers/cli.ts";

function repo(config?: string) {
  const dir = tempDir("lokt-rules-");
  Deno.mkdirSync(`${dir.path}/.git`);
  Deno.mkdirSync(`${dir.path}/src`);
  if (config !== undefined) Deno.writeTextFileSync(`${dir.path}/lokt.jsonc`, config);
  return { dir, env: { ...holderEnv(`${dir.path}/.git/lokt`, "rules"), SHELL: "/bin/bash" } };
}

const CONFIG = `{
  "backend": "files", // another section's key: not a problem here
  "guard": [
    { "match": "lokt unlock .*--force", "ask": "breaks someone else's lock" },
    { "match": "(^|[;&|]\\\\s*)git push\\\\b", "name": "push", "ttl": "2m", "timeout": "100s" },
  ],
}`;

Deno.test("lokt rules lists the rules in order, from any directory of the repository", async () => {
  const { dir, env } = repo(CONFIG);
  using _ = dir;
  const res = await loktInProcess(["rules"], { env, cwd: `${dir.path}/src` });
  assertEquals(res.code, 0, res.stderr);
  assertEquals(
    res.stdout,
    `${dir.path}/lokt.jsonc: 2 rule(s), the first match wins\n` +
      "  [0] /lokt unlock .*--force/\n      ask the user first: breaks someone else's lock\n" +
      '  [1] /(^|[;&|]\\s*)git push\\b/\n      run under lock "push" (ttl 2m0s, wait at most 1m40s)\n',
  );
});

Deno.test("lokt rules COMMAND says which rule matches and what would run instead", async () => {
  const { dir, env } = repo(CONFIG);
  using _ = dir;
  const push = await loktInProcess(["rules", "cd app && git push origin main"], {
    env,
    cwd: dir.path,
  });
  assertEquals(push.code, 0, push.stderr);
  assertEquals(
    push.stdout.split("\n")[1],
    "  lokt guard push --wait --quiet --ttl 2m --timeout 100s -- /bin/bash -c 'cd app && git push origin main'",
  );
  const dashed = await loktInProcess(["rules", "--json", "--", "lokt", "unlock", "x", "--force"], {
    env,
    cwd: dir.path,
  });
  assertEquals(JSON.parse(dashed.stdout).outcome, "ask");
  const none = await loktInProcess(["rules", "git status"], { env, cwd: dir.path });
  assertEquals(none.stdout, "no rule matches: the command runs as typed\n");
  const json = JSON.parse(
    (await loktInProcess(["rules", "git push", "--json"], { env, cwd: dir.path })).stdout,
  );
  assertEquals([json.outcome, json.rule.name, json.rule.ttl_sec, json.rule.line], [
    "guard",
    "push",
    120,
    5,
  ]);
});

Deno.test("lokt rules without lokt.jsonc says so; with invalid rules it names each and exits 1", async () => {
  {
    const { dir, env } = repo();
    using _ = dir;
    const res = await loktInProcess(["rules"], { env, cwd: dir.path });
    assertEquals(res.code, 0);
    assertMatch(res.stdout, /^no .*lokt\.jsonc: no command is guarded automatically/);
  }
  {
    const { dir, env } = repo(
      '{ "guard": [\n  { "match": "x", "name": "a b" },\n  { "match": "y", "name": "ok" }\n] }',
    );
    using _ = dir;
    const res = await loktInProcess(["rules"], { env, cwd: dir.path });
    assertEquals(res.code, 1);
    assertMatch(res.stdout, /1 rule\(s\)/);
    assertMatch(
      res.stderr,
      /^error: .*lokt\.jsonc:2:27: guard\[0\]\.name: "a b" is not a lock name/,
    );
  }
  {
    const { dir, env } = repo("{ oops }");
    using _ = dir;
    const res = await loktInProcess(["rules"], { env, cwd: dir.path });
    assertEquals(res.code, 1);
    assertMatch(
      res.stderr,
      /^error: .*lokt\.jsonc:1:3: expected a member name in double quotes or '\}', found "o"\n/,
    );
  }
});

Deno.test("lokt hook claude-code reads its input from stdin and always exits 0", async () => {
  const { dir, env } = repo(CONFIG);
  using _ = dir;
  const input = JSON.stringify({
    tool_name: "Bash",
    cwd: dir.path,
    tool_input: { command: "git push" },
  });
  const res = await loktInProcess(["hook", "claude-code"], { env, cwd: dir.path, stdin: input });
  assertEquals(res.code, 0);
  assertMatch(
    JSON.parse(res.stdout).hookSpecificOutput.updatedInput.command,
    / guard push --wait /,
  );
  const bad = await loktInProcess(["hook", "codex"], { env, cwd: dir.path, stdin: "]" });
  assertEquals(bad.code, 0);
  assertMatch(bad.stderr, /^lokt hook: the hook input is not JSON/);
});
