/**
 * The rewritten command, run by real shells, runs exactly the agent's command text, under the
 * lock: a recording child shell captures the text it is given and the lock it runs under; real
 * bash shows the output is the same as running the command directly.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { REPO, tempDir } from "../helpers/cli.ts";
import { wrapperScript } from "../../scripts/install_local.ts";
import {
  childShell,
  durationFlag,
  rewriteCommand,
  runsLokt,
  waitBudgetMs,
} from "../../src/hooks/rewrite.ts";
import type { GuardRule } from "../../src/hooks/rules.ts";

const RULE: GuardRule = {
  kind: "guard",
  index: 0,
  pattern: "x",
  regex: /x/,
  name: "push",
  ttlMs: 120_000,
  timeoutMs: 100_000,
};

/** Command texts an agent might send, each hostile to naive quoting. */
const HOSTILE = [
  "git push origin main",
  "echo 'single' \"double\" `backtick` $(subshell) ${var}",
  "'; rm -rf ~ #",
  "echo it's unbalanced \"",
  "printf '%s\\n' a\\ b 'c\\'",
  "first line\nsecond line; third &\n\n",
  "héllo ✓ 日本語 🚀 \u00a0nbsp",
  "$(touch /tmp/lokt-pwned) ; `touch /tmp/lokt-pwned`",
  "'\"'\"''\\''",
  "   leading and trailing spaces   ",
  "a\ttab\r\nand a CR",
  "!history !! ^x^y^",
];

function has(program: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${program}`).isFile;
    } catch {
      return false;
    }
  });
}

const OUTER_SHELLS = ["bash", "sh", ...(has("zsh") ? ["zsh"] : [])];

interface Fixture {
  dir: string;
  env: Record<string, string>;
  [Symbol.dispose](): void;
}

/** A directory with `lokt` (this checkout) and a recording shell `rec` on PATH. */
function fixture(): Fixture {
  const dir = tempDir("lokt-rewrite-");
  const bin = `${dir.path}/bin`;
  Deno.mkdirSync(bin);
  Deno.writeTextFileSync(`${bin}/lokt`, wrapperScript(REPO, Deno.execPath()), { mode: 0o755 });
  // Records its -c text byte for byte, and the lock it runs under.
  Deno.writeTextFileSync(
    `${bin}/rec`,
    '#!/bin/sh\nprintf %s "$2" > "$REC_DIR/text"\nprintf %s "$LOKT_LOCK_NAME $LOKT_AGENT_ID" > "$REC_DIR/lock"\n',
    { mode: 0o755 },
  );
  const env: Record<string, string> = {
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    HOME: dir.path,
    LOKT_ROOT: `${dir.path}/root`,
    LOKT_NO_DETECT: "1",
    LOKT_OWNER: "tester",
    REC_DIR: dir.path,
    NO_COLOR: "1",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return { dir: dir.path, env, [Symbol.dispose]: () => dir[Symbol.dispose]() };
}

async function runIn(shell: string, command: string, env: Record<string, string>, cwd: string) {
  const out = await new Deno.Command(shell, {
    args: ["-c", command],
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("every hostile command text reaches the child shell byte for byte, under the lock, whatever shell runs the rewrite", async () => {
  using fx = fixture();
  for (const text of HOSTILE) {
    const rewritten = rewriteCommand({
      command: text,
      rule: RULE,
      sessionId: "sess 'quoted' $(id)",
      lokt: ["lokt"],
      shell: "rec",
      waitMs: 5_000,
    });
    for (const outer of OUTER_SHELLS) {
      try {
        Deno.removeSync(`${fx.dir}/text`);
      } catch {
        // first run: nothing recorded yet
      }
      const result = await runIn(outer, rewritten, fx.env, fx.dir);
      assertEquals(result.code, 0, `${outer}: ${result.stderr}`);
      assertEquals(
        Deno.readTextFileSync(`${fx.dir}/text`),
        text,
        `${outer} ran ${JSON.stringify(text)}`,
      );
      assertEquals(Deno.readTextFileSync(`${fx.dir}/lock`), "push sess 'quoted' $(id)", outer);
    }
  }
  let pwned = false;
  try {
    Deno.statSync("/tmp/lokt-pwned");
    pwned = true;
  } catch {
    // not created: nothing in the text ran
  }
  assert(!pwned, "a command substitution in the text was run by the outer shell");
});

/** Commands bash can run, each with quoting traps; the rewrite must print what they print. */
const RUNNABLE = [
  "echo 'single' \"double $((1 + 2))\" `echo back` $(echo sub)",
  "echo '; rm -rf ~ #'",
  "printf '%s|' \"it's\" 'a\\b' \"tab\there\"; echo",
  'for i in 1 2; do\n  echo "line $i"\ndone',
  "echo 'héllo ✓ 日本語' && false || echo recovered",
  "x=1; echo \"${x}$x\" '${x}'",
];

Deno.test("run by bash, the rewrite prints exactly what the command prints on its own", async () => {
  using fx = fixture();
  for (const text of RUNNABLE) {
    const direct = await runIn("bash", text, fx.env, fx.dir);
    const rewritten = rewriteCommand({
      command: text,
      rule: RULE,
      lokt: ["lokt"],
      shell: "bash",
      waitMs: 5_000,
    });
    const guarded = await runIn("bash", rewritten, fx.env, fx.dir);
    assertEquals([guarded.code, guarded.stdout], [direct.code, direct.stdout], text);
  }
});

Deno.test("the rewritten command reads as a guard line: name, wait, quiet, ttl, timeout, agent id", () => {
  assertEquals(
    rewriteCommand({
      command: "git push",
      rule: RULE,
      sessionId: "abc-123",
      lokt: ["lokt"],
      shell: "/bin/bash",
      waitMs: 100_000,
    }),
    "LOKT_AGENT_ID='abc-123' lokt guard push --wait --quiet --ttl 2m --timeout 100s -- /bin/bash -c 'git push'",
  );
  assertEquals(
    rewriteCommand({
      command: "make",
      rule: { ...RULE, ttlMs: undefined },
      lokt: ["/opt/my tools/deno", "run", "-A", "/src/main.ts"],
      shell: "bash",
      waitMs: 1_500,
    }),
    "'/opt/my tools/deno' run -A /src/main.ts guard push --wait --quiet --timeout 1500ms -- bash -c 'make'",
  );
});

Deno.test("the wait fits inside the harness's timeout, and never exceeds the rule's", () => {
  const cases: [number | undefined, number | undefined, number][] = [
    [undefined, 120_000, 100_000], // Claude Code's default: 20 s of room
    [300_000, 120_000, 100_000], // the rule allows more: the harness bounds it
    [30_000, 120_000, 30_000], // the rule's own bound
    [undefined, 10_000, 8_000], // a short harness timeout: a fifth of it as room
    [undefined, 600_000, 580_000],
    [undefined, undefined, 100_000], // unknown harness timeout (Codex): the default
    [500_000, undefined, 100_000],
    [20_000, undefined, 20_000],
    [undefined, 500, 1_000], // never below a second
  ];
  for (const [ruleMs, harnessMs, expected] of cases) {
    assertEquals(
      waitBudgetMs({ ...RULE, timeoutMs: ruleMs }, harnessMs),
      expected,
      `${ruleMs} ${harnessMs}`,
    );
  }
  assertEquals([durationFlag(120_000), durationFlag(100_000), durationFlag(1_500)], [
    "2m",
    "100s",
    "1500ms",
  ]);
});

Deno.test("the child shell is the user's POSIX shell, else bash", () => {
  assertEquals(
    [
      childShell("/bin/zsh"),
      childShell("/usr/bin/fish"),
      childShell(undefined),
      childShell("/bin/sh"),
    ],
    ["/bin/zsh", "bash", "bash", "/bin/sh"],
  );
});

Deno.test("commands that already run lokt are recognised; others are not", () => {
  const yes = [
    "lokt guard push -- git push",
    "cd x && lokt lock build --ttl 5m",
    "/usr/local/bin/lokt unlock --all",
    "LOKT_AGENT_ID='a' lokt guard push --wait -- bash -c 'git push'",
    "'/home/a b/bin/lokt' status",
    "(lokt why build)",
  ];
  const no = ["git push", "echo loktx", "cat lokt.jsonc", "mylokt guard x", "ls ./lokt-docs"];
  assertEquals(yes.filter((c) => !runsLokt(c)), []);
  assertEquals(no.filter((c) => runsLokt(c)), []);
  const self = ["/usr/bin/deno", "run", "-A", "/src/main.ts"];
  assert(runsLokt("/usr/bin/deno run -A /src/main.ts guard push -- true", self));
});
