/**
 * `lokt hook install|uninstall`: merged into settings files with other hooks, other keys, or none;
 * twice; then taken out again, leaving the file as it was.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { holderEnv, loktInProcess, tempDir } from "../helpers/cli.ts";
import { ConfigError } from "../../src/errors.ts";
import { hasHook, installHook, uninstallHook } from "../../src/hooks/install.ts";
import { unifiedDiff } from "../../src/hooks/diff.ts";

const PATH = ".claude/settings.json";

/** Settings as Claude Code writes them (two-space JSON), with another PreToolUse hook and other keys. */
const BUSY = JSON.stringify(
  {
    permissions: { allow: ["Bash(npm test:*)"], deny: ["Read(.env)"] },
    hooks: {
      PreToolUse: [{ matcher: "Edit|Write", hooks: [{ type: "command", command: "./check.sh" }] }],
      PostToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./log.sh" }] }],
    },
    env: { FOO: "1" },
  },
  null,
  2,
) + "\n";

const OURS = {
  matcher: "Bash",
  hooks: [{ type: "command", command: "lokt hook claude-code", timeout: 10 }],
};

Deno.test("install into a busy settings file appends one group and keeps everything else in order", () => {
  const after = installHook(PATH, BUSY, "claude-code");
  const parsed = JSON.parse(after);
  const before = JSON.parse(BUSY);
  assertEquals(parsed.permissions, before.permissions);
  assertEquals(parsed.env, before.env);
  assertEquals(parsed.hooks.PostToolUse, before.hooks.PostToolUse);
  assertEquals(parsed.hooks.PreToolUse, [...before.hooks.PreToolUse, OURS]);
  assertEquals(Object.keys(parsed), ["permissions", "hooks", "env"]);
  // Only lines were added.
  const diff = unifiedDiff(PATH, BUSY, after);
  assertEquals(diff.split("\n").filter((l) => l.startsWith("-") && !l.startsWith("---")), []);
  assertEquals(
    diff.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++")).length,
    10,
  );
});

Deno.test("install into no file, an empty file, or settings without hooks", () => {
  const fresh = JSON.parse(installHook(PATH, undefined, "claude-code"));
  assertEquals(fresh, { hooks: { PreToolUse: [OURS] } });
  assertEquals(JSON.parse(installHook(PATH, "", "claude-code")), fresh);
  const other = JSON.parse(installHook(PATH, '{\n\t"model": "opus"\n}\n', "claude-code"));
  assertEquals(other, { model: "opus", hooks: { PreToolUse: [OURS] } });
});

Deno.test("the file keeps its indentation", () => {
  const tabbed = installHook(PATH, '{\n\t"model": "opus"\n}\n', "claude-code");
  assertMatch(tabbed, /^\{\n\t"model": "opus",\n\t"hooks": \{\n\t\t"PreToolUse"/);
  const four = installHook(PATH, '{\n    "model": "opus"\n}\n', "codex");
  assertMatch(four, /^\{\n {4}"model": "opus",\n {4}"hooks": \{\n {8}"PreToolUse"/);
});

Deno.test("installing twice changes nothing the second time", () => {
  for (const start of [undefined, BUSY]) {
    const once = installHook(PATH, start, "claude-code");
    assertEquals(installHook(PATH, once, "claude-code"), once);
    assert(hasHook(PATH, once, "claude-code"));
    // The other harness's entry is a different entry.
    assert(!hasHook(PATH, once, "codex"));
  }
});

Deno.test("uninstall removes exactly what install added", () => {
  assertEquals(uninstallHook(PATH, installHook(PATH, BUSY, "claude-code"), "claude-code"), BUSY);
  const minimal = '{\n  "model": "opus"\n}\n';
  assertEquals(
    uninstallHook(PATH, installHook(PATH, minimal, "claude-code"), "claude-code"),
    minimal,
  );
  // A file install created is removed whole.
  assertEquals(
    uninstallHook(PATH, installHook(PATH, undefined, "claude-code"), "claude-code"),
    undefined,
  );
  // Nothing to remove: the same text (or no file) back.
  assertEquals(uninstallHook(PATH, BUSY, "claude-code"), BUSY);
  assertEquals(uninstallHook(PATH, undefined, "claude-code"), undefined);
});

Deno.test("uninstall keeps hooks a user added next to lokt's in the same group", () => {
  const shared = JSON.stringify({
    hooks: {
      PreToolUse: [{
        matcher: "Bash",
        hooks: [{ type: "command", command: "lokt hook claude-code" }, {
          type: "command",
          command: "./audit.sh",
        }],
      }],
    },
  });
  assertEquals(JSON.parse(uninstallHook(PATH, shared, "claude-code")!), {
    hooks: {
      PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./audit.sh" }] }],
    },
  });
});

Deno.test("a settings file lokt cannot merge into is refused with its place, and never rewritten", () => {
  const comments = assertThrows(
    () => installHook(PATH, '{\n  // mine\n  "a": 1\n}', "claude-code"),
    ConfigError,
  );
  assertMatch(comments.message, /has comments or trailing commas/);
  const broken = assertThrows(
    () => installHook(PATH, '{\n  "a": 1,,\n}', "claude-code"),
    ConfigError,
  );
  assertEquals(
    broken.message,
    `${PATH}:2:10: expected a member name in double quotes or '}', found ","`,
  );
  assertThrows(() => installHook(PATH, "[]", "claude-code"), ConfigError);
  assertThrows(() => installHook(PATH, '{"hooks": []}', "claude-code"), ConfigError);
  assertThrows(
    () => installHook(PATH, '{"hooks": {"PreToolUse": {}}}', "claude-code"),
    ConfigError,
  );
});

function project(): { path: string; env: Record<string, string>; [Symbol.dispose](): void } {
  const dir = tempDir("lokt-install-");
  Deno.mkdirSync(`${dir.path}/.git`);
  return {
    path: dir.path,
    env: holderEnv(`${dir.path}/.git/lokt`, "installer"),
    [Symbol.dispose]: () => dir[Symbol.dispose](),
  };
}

Deno.test("lokt hook install --dry-run prints the diff and writes nothing; install writes it; twice is a no-op", async () => {
  using p = project();
  const file = `${p.path}/.claude/settings.json`;
  Deno.mkdirSync(`${p.path}/.claude`);
  Deno.writeTextFileSync(file, BUSY);
  const dry = await loktInProcess(["hook", "install", "claude-code", "--dry-run"], {
    env: p.env,
    cwd: p.path,
  });
  assertEquals(dry.code, 0, dry.stderr);
  assertMatch(
    dry.stdout,
    /^--- a\/\.claude\/settings\.json\n\+\+\+ b\/\.claude\/settings\.json\n@@ /,
  );
  assertMatch(dry.stdout, /\n\+ +"command": "lokt hook claude-code",\n/);
  assertEquals(Deno.readTextFileSync(file), BUSY);

  const real = await loktInProcess(["hook", "install", "claude-code"], {
    env: p.env,
    cwd: `${p.path}`,
  });
  assertEquals([real.code, real.stdout], [
    0,
    ".claude/settings.json: added `lokt hook claude-code` as a PreToolUse hook for Bash\n",
  ]);
  const installed = Deno.readTextFileSync(file);
  assertEquals(installed, installHook(PATH, BUSY, "claude-code"));
  const again = await loktInProcess(["hook", "install", "claude-code"], {
    env: p.env,
    cwd: p.path,
  });
  assertMatch(again.stdout, /already runs `lokt hook claude-code`: nothing to do/);
  assertEquals(Deno.readTextFileSync(file), installed);

  const out = await loktInProcess(["hook", "uninstall", "claude-code"], {
    env: p.env,
    cwd: p.path,
  });
  assertEquals(out.code, 0, out.stderr);
  assertEquals(Deno.readTextFileSync(file), BUSY);
});

Deno.test("lokt hook install codex creates .codex/hooks.json; uninstall removes the file it created", async () => {
  using p = project();
  Deno.mkdirSync(`${p.path}/sub`);
  const res = await loktInProcess(["hook", "install", "codex"], {
    env: p.env,
    cwd: `${p.path}/sub`,
  });
  assertEquals(res.code, 0, res.stderr);
  assertMatch(res.stdout, /review and trust it: open \/hooks in Codex/);
  assertEquals(JSON.parse(Deno.readTextFileSync(`${p.path}/.codex/hooks.json`)), {
    hooks: {
      PreToolUse: [{
        matcher: "Bash",
        hooks: [{ type: "command", command: "lokt hook codex", timeout: 10 }],
      }],
    },
  });
  const gone = await loktInProcess(["hook", "uninstall", "codex"], { env: p.env, cwd: p.path });
  assertMatch(gone.stdout, /the file is gone/);
  let exists = true;
  try {
    Deno.statSync(`${p.path}/.codex/hooks.json`);
  } catch {
    exists = false;
  }
  assert(!exists, "the file install created is removed");
});

Deno.test("hook usage errors: a missing or unknown harness or action, extra words", async () => {
  using p = project();
  for (
    const argv of [["hook"], ["hook", "install"], ["hook", "install", "cursor"], ["hook", "zap"], [
      "hook",
      "codex",
      "extra",
    ], ["hook", "codex", "--dry-run"]]
  ) {
    const res = await loktInProcess(argv, { env: p.env, cwd: p.path });
    assertEquals(res.code, 64, `${argv.join(" ")}: ${res.stderr}`);
  }
});
