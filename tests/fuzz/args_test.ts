/**
 * Fuzz: random command lines, built from an alphabet of real command names, flags, `--`, `=`,
 * durations, unicode, empty and very long words. The parser returns arguments or help, or throws
 * a usage error; the whole CLI, run in-process, ends with one of lokt's exit codes and a message,
 * never with an exception or a stack trace.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { loktInProcess, tempDir } from "../helpers/cli.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { COMMANDS } from "../../src/cli/table.ts";
import type { CommandSpec } from "../../src/cli/spec.ts";
import { MAX_DURATION_MS } from "../../src/duration.ts";
import { UsageError } from "../../src/errors.ts";
import { fuzz, NASTY_CHARS, type Rng } from "./prng.ts";

const FILE = "tests/fuzz/args_test.ts";

const NAMES = COMMANDS.map((c) => c.name);
const LONG_FLAGS = [...new Set(COMMANDS.flatMap((c) => c.flags.map((f) => `--${f.name}`)))];
const SHORT_FLAGS = [
  ...new Set(COMMANDS.flatMap((c) => c.flags.filter((f) => f.short).map((f) => `-${f.short}`))),
];
const CHOICES = COMMANDS.flatMap((c) => c.flags.flatMap((f) => f.choices ?? []));
const VALUES = [
  "",
  " ",
  "=",
  "-",
  "--",
  "---",
  "--=",
  "-=",
  "-5",
  "-55",
  "0",
  "1",
  "007",
  "4194304",
  "9007199254740993",
  "1e3",
  "true",
  "false",
  "5m",
  "500ms",
  "1h30m",
  "1.5h",
  "0s",
  "-5m",
  "99999999d",
  "build",
  "deploy.prod_1",
  "a".repeat(128),
  "a".repeat(129),
  "../x",
  ".hidden",
  "bash",
  "zsh",
  "fish",
  "claude-md",
  "acquire",
  "2026-11-22T05:00:00Z",
  "1h",
  "help",
  "-h",
  "--help",
  "-V",
  "--version",
  "--help=1",
];

/** One word of a command line. */
function word(rng: Rng, spec: CommandSpec | undefined): string {
  const own = spec?.flags ?? [];
  const r = rng.float();
  if (r < 0.25 && own.length > 0) {
    const flag = rng.pick(own);
    const long = `--${flag.name}`;
    switch (rng.int(4)) {
      case 0:
        return flag.short ? `-${flag.short}` : long;
      case 1:
        return `${long}=${rng.pick([...VALUES, ...CHOICES])}`;
      default:
        return long;
    }
  }
  if (r < 0.35) return rng.pick(LONG_FLAGS) + (rng.chance(0.3) ? `=${rng.pick(VALUES)}` : "");
  if (r < 0.4) return rng.pick(SHORT_FLAGS);
  if (r < 0.45) return rng.pick(NAMES);
  if (r < 0.7) return rng.pick([...VALUES, ...CHOICES]);
  if (r < 0.75) return rng.pick(["x", "é", "\u0000", "-"]).repeat(rng.pick([1_000, 20_000]));
  if (r < 0.85) return rng.string([..."abc019-_.=", ...NASTY_CHARS], 12);
  return rng.string([..."abc-_.", ...NASTY_CHARS], 4) + rng.pick([...VALUES]);
}

/** A well-formed value for `flag`, most of the time. */
function goodValue(rng: Rng, spec: CommandSpec, flagName: string): string {
  const flag = spec.flags.find((f) => f.name === flagName)!;
  if (flag.choices) return rng.pick(flag.choices);
  switch (flag.type) {
    case "duration":
      return rng.pick(["500ms", "2s", "5m", "1h", "1.5h"]);
    case "integer":
      return rng.pick(["0", "1", "3", String(Deno.pid)]);
    default:
      return rng.pick(["build", "acquire", "1h", "fuzzer", "2026-11-22T05:00:00Z"]);
  }
}

/** A command line for `spec` (or for no command at all): mostly junk, sometimes nearly right. */
function commandLine(rng: Rng, specs: readonly CommandSpec[]): string[] {
  const spec = rng.chance(0.9) ? rng.pick(specs) : undefined;
  const argv: string[] = [];
  argv.push(spec ? spec.name : word(rng, undefined));
  if (spec && rng.chance(0.4)) {
    if (spec.positionals.length > 0) argv.push(rng.pick(["build", "deploy", "x.1", "bash"]));
    for (let n = rng.int(3); n > 0 && spec.flags.length > 0; n--) {
      const flag = rng.pick(spec.flags);
      argv.push(`--${flag.name}`);
      if (flag.type !== "boolean") argv.push(goodValue(rng, spec, flag.name));
    }
    if (rng.chance(0.3)) argv.push(word(rng, spec));
    return argv;
  }
  for (let n = rng.int(rng.chance(0.8) ? 5 : 12); n > 0; n--) argv.push(word(rng, spec));
  return argv;
}

/** Checks what the parser makes of `argv` against `spec`, and says which of the three it was. */
function checkParsed(spec: CommandSpec, argv: string[]): "args" | "help" | "usage" {
  let parsed;
  try {
    parsed = parseArgs(spec, argv);
  } catch (error) {
    if (error instanceof UsageError) {
      assert(error.message.length > 0 && !error.message.includes("undefined"), error.message);
      return "usage";
    }
    throw error;
  }
  if (parsed.kind === "help") return "help";
  const { flags, positionals, command } = parsed.args;
  const dash = argv.indexOf("--");
  const before = dash < 0 ? argv : argv.slice(0, dash);
  for (const [name, value] of Object.entries(flags)) {
    const flag = spec.flags.find((f) => f.name === name);
    assert(flag !== undefined, `flag ${name} is not one of ${spec.name}'s`);
    switch (flag.type) {
      case "boolean":
        assertEquals(typeof value, "boolean", name);
        break;
      case "duration":
        assert(
          typeof value === "number" && Number.isSafeInteger(value) && value > 0 &&
            value <= MAX_DURATION_MS,
          `--${name} = ${value}`,
        );
        break;
      case "integer":
        assert(typeof value === "number" && Number.isSafeInteger(value) && value >= 0, name);
        break;
      case "string":
        assert(typeof value === "string", name);
        if (flag.choices) assert(flag.choices.includes(value), `--${name} = ${value}`);
        break;
    }
  }
  for (const p of positionals) assert(argv.includes(p), `positional ${JSON.stringify(p)}`);
  if (spec.takesCommand && dash >= 0) {
    assertEquals(command, argv.slice(dash + 1));
    for (const p of positionals) assert(before.includes(p), `positional ${p} after --`);
  } else {
    assertEquals(command, undefined);
  }
  return "args";
}

Deno.test("fuzz: the parser returns arguments that fit the table, help, or a usage error", async () => {
  const seen = { args: 0, help: 0, usage: 0 };
  const report = await fuzz("args/parse", (rng) => {
    const argv = commandLine(rng, COMMANDS);
    return argv;
  }, (argv) => {
    const spec = COMMANDS.find((c) => c.name === argv[0]);
    if (spec !== undefined) seen[checkParsed(spec, argv.slice(1))]++;
    // Every command also parses words meant for another one without anything but usage errors.
    for (const other of COMMANDS) checkParsed(other, argv);
  }, { file: FILE });
  // Help and usage errors skip most checks: the generator must also reach parsed arguments.
  if (report.cases >= 100) assert(seen.args > 0 && seen.usage > 0, JSON.stringify(seen));
});

/**
 * Commands run in-process. Left out: those that run other programs (`guard`, `demo`, and
 * `doctor`, which also takes half a second), and following the audit log (`audit --tail`/`-f`),
 * which waits by design, not by accident.
 */
const RUNNABLE = COMMANDS.filter((c) =>
  !c.takesCommand && c.name !== "demo" && c.name !== "doctor"
);
const EXIT_CODES = [0, 1, 2, 3, 4, 64];
/** Cases per shared lock root. */
const GROUP = 32;

/** Whether `argv` asks for JSON output: `--json` in effect, or on a line that fails to parse. */
function wantsJson(argv: string[]): boolean {
  const spec = RUNNABLE.find((c) => c.name === argv[0]);
  if (!spec?.flags.some((f) => f.name === "json")) return false;
  try {
    const parsed = parseArgs(spec, argv.slice(1));
    return parsed.kind === "args" && parsed.args.flags.json === true;
  } catch {
    const dash = argv.indexOf("--");
    return (dash < 0 ? argv : argv.slice(0, dash)).includes("--json");
  }
}

/** One JSON document, or JSON lines (`audit --json`). */
function isJson(text: string): boolean {
  const parses = (t: string) => {
    try {
      JSON.parse(t);
      return true;
    } catch {
      return false;
    }
  };
  return parses(text) || text.trimEnd().split("\n").every(parses);
}

function removeTree(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Drops the words that make a command wait by design: following the audit log, and `--wait`
 * (roots are shared by a few cases, so a name may be held by the other fuzzing agent).
 */
function runnable(argv: string[]): string[] {
  return argv.filter((w, i) =>
    i === 0 ||
    !(w === "-w" || w.startsWith("--wait") ||
      (argv[0] === "audit" && (w === "-f" || w.startsWith("--tail"))))
  );
}

Deno.test("fuzz: any command line ends with a lokt exit code and a message, never a stack trace", async () => {
  using dir = tempDir("lokt-fuzz-");
  const probe = new LinuxProbe();
  const codes: Record<number, number> = {};
  await fuzz("args/run", (rng) => ({
    argv: runnable(commandLine(rng, RUNNABLE)),
    agent: rng.pick(["fuzz-a", "fuzz-b"]),
  }), async ({ argv, agent }, index) => {
    // Cases share a root in groups, so that names are held, frozen and owned by another.
    const root = `${dir.path}/r${Math.floor(index / GROUP)}`;
    if (index % GROUP === 0) removeTree(`${dir.path}/r${Math.floor(index / GROUP) - 1}`);
    const env = {
      LOKT_ROOT: root,
      LOKT_NO_DETECT: "1",
      LOKT_AGENT_ID: agent,
      LOKT_OWNER: "fuzzer",
      HOME: dir.path,
      NO_COLOR: "1",
    };
    const result = await loktInProcess(argv, { env, cwd: dir.path, probe });
    codes[result.code] = (codes[result.code] ?? 0) + 1;
    assert(EXIT_CODES.includes(result.code), `exit ${result.code}\n${result.stderr}`);
    assert(!/^\s+at /m.test(result.stderr), `stack trace on stderr:\n${result.stderr}`);
    assert(!/this is a bug in lokt/.test(result.stderr), `internal error:\n${result.stderr}`);
    // `exists` answers with its exit code alone; every other failure says why.
    if (result.code !== 0 && !(result.code !== 64 && argv[0] === "exists")) {
      assert(
        /^error: \S/m.test(result.stderr) || result.stdout.length > 0,
        `exit ${result.code} without a message`,
      );
    }
    if (wantsJson(argv) && result.stdout !== "") {
      assert(isJson(result.stdout), `--json printed something else:\n${result.stdout}`);
    }
  }, { file: FILE, group: GROUP });
  console.log(`args/run exit codes: ${JSON.stringify(codes)}`);
});

Deno.test("an internal error prints its stack trace only when LOKT_DEBUG is set", async () => {
  using dir = tempDir("lokt-fuzz-");
  const broken = new Proxy(new LinuxProbe(), {
    get(target, key) {
      if (key === "info") {
        return () => {
          throw new TypeError("probe exploded");
        };
      }
      return Reflect.get(target, key);
    },
  });
  const env = { LOKT_ROOT: `${dir.path}/r`, LOKT_NO_DETECT: "1", LOKT_OWNER: "o", NO_COLOR: "1" };
  const plain = await loktInProcess(["lock", "build", "--pid", "1"], { env, probe: broken });
  assertEquals(plain.code, 1);
  assert(/^error: probe exploded$/m.test(plain.stderr), plain.stderr);
  assert(/rerun with LOKT_DEBUG=1/.test(plain.stderr), plain.stderr);
  assert(!/^\s+at /m.test(plain.stderr), plain.stderr);

  const debug = await loktInProcess(["lock", "build", "--pid", "1"], {
    env: { ...env, LOKT_DEBUG: "1" },
    probe: broken,
  });
  assertEquals(debug.code, 1);
  assert(/^TypeError: probe exploded$/m.test(debug.stderr), debug.stderr);
  assert(/^\s+at /m.test(debug.stderr), `no stack trace:\n${debug.stderr}`);
});
