/**
 * Completion scripts, generated from the command table, loaded into real shells and driven the
 * way the shell drives them when a user presses TAB.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import {
  bashCompletion,
  fishCompletion,
  type Shell,
  SHELLS,
  zshCompletion,
} from "../../src/cli/completions.ts";
import type { CommandSpec } from "../../src/cli/spec.ts";
import { COMMANDS, findCommand } from "../../src/cli/table.ts";

function installed(program: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** A command added to the table later, with a flag that has fixed values. */
const EXTRA: CommandSpec = {
  name: "zap",
  summary: "a command added later, with 'quotes' and $dollars",
  usage: "[--level L]",
  positionals: [],
  flags: [
    { name: "level", short: "l", type: "string", choices: ["low", "high"], summary: "how much" },
  ],
  description: [],
  examples: [],
  load: () => Promise.reject(new Error("not run")),
};

/**
 * zsh and fish are optional on a developer's machine and on macOS (`.ci/run` installs them where
 * apt-get works): their tests are ignored, with a note, where the shell is missing. bash is on
 * every machine lokt supports, so its tests always run.
 */
const HAS = { zsh: installed("zsh"), fish: installed("fish") };

/**
 * The script as a user gets it: printed by the real `lokt completions SHELL`; or, with `extra`,
 * generated for the table plus that command.
 */
const scripts = new Map<Shell, string>();
async function scriptFor(shell: Shell, extra?: CommandSpec): Promise<string> {
  if (extra !== undefined) {
    const table = [...COMMANDS, extra];
    return { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion }[shell](table);
  }
  const cached = scripts.get(shell);
  if (cached !== undefined) return cached;
  using dir = tempDir();
  const result = await lokt(["completions", shell], { env: holderEnv(dir.path, "completions") });
  assertEquals(result.code, 0, result.stderr);
  scripts.set(shell, result.stdout);
  return result.stdout;
}

async function runShell(
  program: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<string[]> {
  const out = await new Deno.Command(program, {
    args,
    cwd,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: cwd, TERM: "dumb", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `${program} failed: ${stderr}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

/**
 * bash: source the script, look up the function `complete -p lokt` registered, and call it
 * with COMP_WORDS / COMP_CWORD as readline would for the command line `words` (the last word
 * is the one being completed, possibly empty).
 */
const BASH_DRIVER = `
source "$1"; shift
spec=$(complete -p lokt) || { echo "lokt has no completion" >&2; exit 90; }
fn=\${spec##*-F }; fn=\${fn%% *}
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
"$fn" lokt "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;

async function completeInBash(words: string[], extra?: CommandSpec): Promise<string[]> {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/lokt.bash`, await scriptFor("bash", extra));
  Deno.writeTextFileSync(`${dir.path}/driver.bash`, BASH_DRIVER);
  return await runShell(
    "bash",
    ["--norc", "--noprofile", `${dir.path}/driver.bash`, `${dir.path}/lokt.bash`, ...words],
    dir.path,
  );
}

/**
 * Where compinit keeps its dump for this test file: building it scans every completion function
 * (seconds); loading it is quick.
 */
let zshDump: string | undefined;
function zshDumpDir(): string {
  if (zshDump === undefined) {
    const dir = Deno.makeTempDirSync({ prefix: "lokt-zsh-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    zshDump = dir;
  }
  return zshDump;
}

/**
 * zsh: load compinit, source the script (it registers itself with compdef), then call the
 * registered function with `words` / `CURRENT` set. compadd only works inside a completion
 * widget, so a stand-in records what would be offered and filters by the typed prefix as zsh
 * does.
 */
const ZSH_DRIVER = `
autoload -Uz compinit && compinit -u -d "$ZDOTDIR/.zcompdump"
source "$1"; shift
fn=$_comps[lokt]
[[ -n $fn ]] || { print -u2 "lokt has no completion"; exit 90 }
compadd() {
  local -a offered; local seen=0 arg
  for arg in "$@"; do
    if (( seen )); then offered+=("$arg"); elif [[ $arg == -- ]]; then seen=1; fi
  done
  for arg in $offered; do [[ $arg == \${PREFIX}* ]] && print -r -- "$arg"; done
}
words=("$@"); CURRENT=$#; PREFIX=\${words[CURRENT]}
$fn
true
`;

async function completeInZsh(words: string[], extra?: CommandSpec): Promise<string[]> {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/lokt.zsh`, await scriptFor("zsh", extra));
  Deno.writeTextFileSync(`${dir.path}/driver.zsh`, ZSH_DRIVER);
  return await runShell(
    "zsh",
    ["-f", `${dir.path}/driver.zsh`, `${dir.path}/lokt.zsh`, ...words],
    dir.path,
    { ZDOTDIR: zshDumpDir() },
  );
}

/** fish: source the script and ask fish itself what it would complete for the line. */
async function completeInFish(line: string, extra?: CommandSpec): Promise<string[]> {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/lokt.fish`, await scriptFor("fish", extra));
  const lines = await runShell(
    "fish",
    ["--no-config", "-c", "source $argv[1]; complete -C $argv[2]", `${dir.path}/lokt.fish`, line],
    dir.path,
  );
  return lines.map((l) => l.split("\t")[0]);
}

function assertOffers(offered: string[], expected: string[], absent: string[] = []): void {
  for (const word of expected) {
    assert(offered.includes(word), `expected ${word} among [${offered.join(" ")}]`);
  }
  for (const word of absent) {
    assert(!offered.includes(word), `did not expect ${word} among [${offered.join(" ")}]`);
  }
}

Deno.test("every shell's script covers every command of the table, and commands added to it", () => {
  const table = [...COMMANDS, EXTRA];
  for (const script of [bashCompletion(table), zshCompletion(table), fishCompletion(table)]) {
    for (const spec of table) assertMatch(script, new RegExp(`\\b${spec.name}\\b`));
    assertMatch(script, /\blevel\b/);
    assertMatch(script, /\blow\b.*\bhigh\b/);
  }
});

Deno.test("the completions command accepts exactly the shells there are scripts for", () => {
  assertEquals(findCommand("completions")?.positionals[0].choices, SHELLS);
});

Deno.test("lokt completions refuses an unknown shell with a usage error", async () => {
  using dir = tempDir();
  const result = await lokt(["completions", "tcsh"], { env: holderEnv(dir.path, "completions") });
  assertEquals(result.code, 64);
  assertMatch(result.stderr, /no completions for shell "tcsh"/);
});

// --- bash ---------------------------------------------------------------------------------------

Deno.test({
  name: "bash completes a command name from its start: lokt lo<TAB> offers lock",
  fn: async () => {
    assertOffers(await completeInBash(["lokt", "lo"]), ["lock"], ["unlock", "status"]);
    assertOffers(await completeInBash(["lokt", "un"]), ["unlock"], ["lock"]);
  },
});

Deno.test({
  name: "bash completes flags, long and short: lokt lock --t<TAB> offers --ttl and --timeout",
  fn: async () => {
    assertOffers(await completeInBash(["lokt", "lock", "--t"]), ["--ttl", "--timeout"], [
      "--wait",
    ]);
    assertOffers(await completeInBash(["lokt", "lock", "build", "-"]), ["--wait", "-w", "--help"]);
    assertEquals(await completeInBash(["lokt", "lock", "--ttl", ""]), [], "a duration is typed");
  },
});

Deno.test({
  name:
    "bash offers the shells after lokt completions, and a flag's fixed values, also of a command added later",
  fn: async () => {
    assertEquals(await completeInBash(["lokt", "completions", ""]), ["bash", "zsh", "fish"]);
    assertEquals(await completeInBash(["lokt", "zap", "--level", ""], EXTRA), ["low", "high"]);
    assertEquals(await completeInBash(["lokt", "zap", "-l", "h"], EXTRA), ["high"]);
  },
});

Deno.test({
  name: "bash completes lokt gu<TAB> to guard and lokt guard --t<TAB> to --ttl and --timeout",
  fn: async () => {
    assertOffers(await completeInBash(["lokt", "gu"]), ["guard"]);
    assertOffers(await completeInBash(["lokt", "guard", "--t"]), ["--ttl", "--timeout"]);
  },
});

Deno.test({
  name: "bash completes the guarded command after --: commands first, then files",
  fn: async () => {
    assertOffers(await completeInBash(["lokt", "guard", "build", "--", "ech"]), ["echo"], [
      "--ttl",
    ]);
    const flagsAfterDash = await completeInBash(["lokt", "guard", "build", "--", "ls", "--t"]);
    assert(!flagsAfterDash.includes("--ttl"), "lokt's flags end at --");
  },
});

// --- zsh ----------------------------------------------------------------------------------------

Deno.test({
  name: "zsh completes command names, flags and values (needs zsh)",
  ignore: !HAS.zsh,
  fn: async () => {
    assertOffers(await completeInZsh(["lokt", "lo"]), ["lock"], ["unlock"]);
    assertOffers(await completeInZsh(["lokt", "lock", "--t"]), ["--ttl", "--timeout"], ["--wait"]);
    assertEquals(await completeInZsh(["lokt", "completions", ""]), ["bash", "zsh", "fish"]);
    assertEquals(await completeInZsh(["lokt", "zap", "--level", ""], EXTRA), ["low", "high"]);
  },
});

Deno.test({
  name:
    "zsh completes lokt gu<TAB> to guard and lokt guard --t<TAB> to --ttl and --timeout (needs zsh)",
  ignore: !HAS.zsh,
  fn: async () => {
    assertOffers(await completeInZsh(["lokt", "gu"]), ["guard"]);
    assertOffers(await completeInZsh(["lokt", "guard", "--t"]), ["--ttl", "--timeout"]);
  },
});

// --- fish ---------------------------------------------------------------------------------------

Deno.test({
  name: "fish completes command names, flags and values (needs fish)",
  ignore: !HAS.fish,
  fn: async () => {
    assertOffers(await completeInFish("lokt lo"), ["lock"], ["unlock"]);
    assertOffers(await completeInFish("lokt lock --t"), ["--ttl", "--timeout"], ["--wait"]);
    assertOffers(await completeInFish("lokt lock build -"), ["-w", "--wait"]);
    assertEquals((await completeInFish("lokt completions ")).sort(), ["bash", "fish", "zsh"]);
    assertEquals((await completeInFish("lokt zap --level ", EXTRA)).sort(), ["high", "low"]);
  },
});

Deno.test({
  name: "fish completes lokt gu<TAB> to guard, its flags, and the command after -- (needs fish)",
  ignore: !HAS.fish,
  fn: async () => {
    assertOffers(await completeInFish("lokt gu"), ["guard"]);
    assertOffers(await completeInFish("lokt guard --t"), ["--ttl", "--timeout"]);
    assertOffers(await completeInFish("lokt guard build -- ech"), ["echo"]);
  },
});

if (!HAS.zsh || !HAS.fish) {
  console.error(
    `completions: ${
      ["zsh", "fish"].filter((s) => !HAS[s as "zsh" | "fish"]).join(" and ")
    } not installed, their tests are ignored (.ci/run installs them where apt-get works)`,
  );
}
