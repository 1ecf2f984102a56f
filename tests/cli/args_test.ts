/** The argument parser against a command spec: flags anywhere, `--`, values, errors, help. */

import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { UsageError } from "../../src/errors.ts";
import { closest, editDistance, expectPositionals, parseArgs } from "../../src/cli/args.ts";
import type { CommandSpec, ParsedArgs } from "../../src/cli/spec.ts";

function spec(overrides: Partial<CommandSpec> = {}): CommandSpec {
  return {
    name: "try",
    summary: "a command for parser tests",
    usage: "NAME [--ttl D] [--pid PID] [--mode M] [--json]",
    positionals: [{ name: "NAME" }],
    flags: [
      { name: "ttl", type: "duration", placeholder: "D", summary: "lease" },
      { name: "pid", type: "integer", placeholder: "PID", summary: "process" },
      { name: "mode", type: "string", summary: "mode", choices: ["stop", "keep"] },
      { name: "label", type: "string", summary: "free text" },
      { name: "wait", short: "w", type: "boolean", summary: "wait" },
      { name: "json", type: "boolean", summary: "json" },
      { name: "conflict-exit-code", short: "E", type: "integer", summary: "code" },
    ],
    description: [],
    examples: [],
    load: () => Promise.reject(new Error("not loaded in parser tests")),
    ...overrides,
  };
}

const GUARD_LIKE = spec({ name: "run", takesCommand: true });

function args(argv: string[], command = spec()): ParsedArgs {
  const result = parseArgs(command, argv);
  assert(result.kind === "args", `expected arguments, got ${result.kind}`);
  return result.args;
}

function usageError(argv: string[], command = spec()): UsageError {
  return assertThrows(() => parseArgs(command, argv), UsageError);
}

Deno.test("flags are accepted before and after the positional argument", () => {
  const expected = {
    flags: { ttl: 300_000, json: true },
    positionals: ["build"],
    command: undefined,
  };
  assertEquals(args(["build", "--ttl", "5m", "--json"]), expected);
  assertEquals(args(["--ttl", "5m", "--json", "build"]), expected);
  assertEquals(args(["--ttl", "5m", "build", "--json"]), expected);
});

Deno.test("--flag=value is the same as --flag value", () => {
  assertEquals(args(["build", "--ttl=90s", "--pid=42"]).flags, { ttl: 90_000, pid: 42 });
  assertEquals(args(["build", "--label=a=b"]).flags, { label: "a=b" }, "only the first = splits");
  assertEquals(
    args(["build", "--label="]).flags,
    { label: "" },
    "an empty inline value is a value",
  );
});

Deno.test("short flags work for booleans and for flags with a value", () => {
  assertEquals(args(["-w", "build", "-E", "99"]).flags, { wait: true, "conflict-exit-code": 99 });
});

Deno.test("short flags take =value like long ones", () => {
  assertEquals(args(["build", "-E=99"]).flags, { "conflict-exit-code": 99 });
  assertEquals(args(["-w=false", "build"]).flags, { wait: false });
  assertEquals(
    usageError(["build", "-E=x"]).message,
    '--conflict-exit-code: "x" is not a whole number',
  );
  assertMatch(usageError(["build", "-w=yes"]).message, /^--wait takes no value \(got "yes"\)$/);
  assertEquals(usageError(["build", "-x=1"]).message, "unknown flag -x for `lokt try`");
});

Deno.test("a boolean flag accepts =true and =false, and nothing else", () => {
  assertEquals(args(["x", "--json=false"]).flags, { json: false });
  assertEquals(args(["x", "--json=true"]).flags, { json: true });
  assertMatch(usageError(["x", "--json=yes"]).message, /--json takes no value \(got "yes"\)/);
});

Deno.test("a repeated flag keeps its last value", () => {
  assertEquals(args(["x", "--ttl", "1m", "--ttl", "2m"]).flags, { ttl: 120_000 });
  assertEquals(args(["x", "--json", "--json=false"]).flags, { json: false });
});

Deno.test("`--` ends the flags: later words are positionals, or the command for commands that run one", () => {
  assertEquals(args(["--", "--json"]), { flags: {}, positionals: ["--json"], command: undefined });
  assertEquals(args(["build", "--ttl", "1m", "--", "make", "-j", "--json"], GUARD_LIKE), {
    flags: { ttl: 60_000 },
    positionals: ["build"],
    command: ["make", "-j", "--json"],
  });
  assertEquals(args(["build", "--"], GUARD_LIKE).command, []);
  assertEquals(args(["build", "--", "--"], GUARD_LIKE).command, ["--"], "only the first -- counts");
  assertEquals(args(["build"], GUARD_LIKE).command, undefined, "no -- means no command");
});

Deno.test("a lone `-` and negative-looking numbers are positionals, not flags", () => {
  assertEquals(args(["-", "-5"]).positionals, ["-", "-5"]);
});

Deno.test("an unknown long flag is a usage error that suggests the closest flag", () => {
  const error = usageError(["build", "--tll", "5m"]);
  assertEquals(error.code, "usage");
  assertEquals(error.message, "unknown flag --tll for `lokt try`");
  assertEquals(error.hint, "did you mean --ttl? (see `lokt try --help`)");
  assertMatch(usageError(["build", "--jsno=true"]).message, /unknown flag --jsno for/);
  assertMatch(usageError(["build", "--jsno=true"]).hint!, /did you mean --json\?/);
});

Deno.test("an unknown flag far from every known one gets no guess", () => {
  const error = usageError(["build", "--frobnicate"]);
  assertEquals(error.hint, "see `lokt try --help`");
});

Deno.test("unknown short flags and bundled short flags are usage errors", () => {
  assertMatch(usageError(["build", "-x"]).message, /unknown flag -x for `lokt try`/);
  assertMatch(usageError(["build", "-wq"]).message, /unknown flag -wq/);
});

Deno.test("a flag without its value is a usage error, also when a flag or `--` follows", () => {
  for (
    const argv of [
      ["build", "--ttl"],
      ["build", "--ttl", "--json"],
      ["build", "--ttl", "-w"],
      ["build", "--pid", "--", "x"],
    ]
  ) {
    const error = usageError(argv);
    assertMatch(error.message, /^--(ttl|pid) needs a value \((D|PID)\)$/, argv.join(" "));
    assertEquals(error.hint, "see `lokt try --help`");
  }
  assertEquals(args(["build", "--label=--json"]).flags, { label: "--json" }, "= takes anything");
});

Deno.test("a bad duration is a usage error that says what is wrong", () => {
  assertMatch(usageError(["x", "--ttl", "5"]).message, /^--ttl: "5" has no unit; write 5s, 5m/);
  assertMatch(usageError(["x", "--ttl", "0s"]).message, /^--ttl: "0s" is zero/);
  assertMatch(usageError(["x", "--ttl", "-5m"]).message, /^--ttl: "-5m" is negative/);
  assertMatch(usageError(["x", "--ttl", "soon"]).message, /^--ttl: "soon" is not a duration/);
  assertEquals(args(["x", "--ttl", "1h30m"]).flags.ttl, 5_400_000);
  assertEquals(args(["x", "--ttl", "1.5h"]).flags.ttl, 5_400_000);
  assertEquals(args(["x", "--ttl", "500ms"]).flags.ttl, 500);
});

Deno.test("a bad integer is a usage error", () => {
  for (const raw of ["abc", "1.5", "-3", "1e3", "", "99999999999999999999"]) {
    const error = usageError(["x", `--pid=${raw}`]);
    assertEquals(error.message, `--pid: "${raw}" is not a whole number`, raw);
  }
  assertEquals(args(["x", "--pid", "0"]).flags.pid, 0);
  assertEquals(args(["x", "--pid", "007"]).flags.pid, 7);
});

Deno.test("a string flag with fixed choices refuses anything else", () => {
  assertEquals(args(["x", "--mode", "keep"]).flags.mode, "keep");
  assertEquals(
    usageError(["x", "--mode", "pause"]).message,
    '--mode: "pause" is not one of stop, keep',
  );
});

Deno.test("--help and -h ask for help anywhere before `--`, even next to other errors", () => {
  for (
    const argv of [["--help"], ["-h"], ["build", "--help"], ["--bogus", "-h"], [
      "x",
      "--ttl",
      "5",
      "-h",
    ]]
  ) {
    assertEquals(parseArgs(spec(), argv).kind, "help", argv.join(" "));
  }
  assertEquals(args(["build", "--", "--help"], GUARD_LIKE).command, ["--help"]);
});

Deno.test("the first usage error is the one reported", () => {
  assertMatch(usageError(["x", "--bogus", "--ttl", "5"]).message, /unknown flag --bogus/);
  assertMatch(usageError(["x", "--ttl", "5", "--bogus"]).message, /^--ttl: "5" has no unit/);
});

Deno.test("expectPositionals checks the count against the spec, with the usage line as hint", () => {
  const command = spec();
  assertEquals(expectPositionals(command, args(["build"])), ["build"]);
  const missing = assertThrows(() => expectPositionals(command, args([])), UsageError);
  assertEquals([missing.message, missing.hint], [
    "missing NAME",
    `usage: lokt try ${command.usage}`,
  ]);
  const extra = assertThrows(() => expectPositionals(command, args(["a", "b"])), UsageError);
  assertEquals(extra.message, 'unexpected argument "b"');
  const guarded = assertThrows(
    () => expectPositionals(GUARD_LIKE, args(["a", "make"], GUARD_LIKE)),
    UsageError,
  );
  assertMatch(guarded.hint!, /^put the command after `--`/);
});

Deno.test("did-you-mean picks the nearest candidate within two edits", () => {
  assertEquals(editDistance("kitten", "sitting"), 3);
  assertEquals(editDistance("", "abc"), 3);
  assertEquals(closest("stauts", ["status", "unlock"]), "status");
  assertEquals(closest("lcok", ["lock", "unlock"]), "lock");
  assertEquals(closest("zzzzzz", ["lock", "unlock"]), undefined);
});
