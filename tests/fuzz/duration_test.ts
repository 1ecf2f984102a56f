/** Fuzz: the duration parser gives a positive whole number of milliseconds or a reason, never a throw. */

import { assert, assertEquals } from "../helpers/assert.ts";
import { MAX_DURATION_MS, parseDuration } from "../../src/duration.ts";
import { formatDuration } from "../../src/locks/describe.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { findCommand } from "../../src/cli/table.ts";
import { UsageError } from "../../src/errors.ts";
import { fuzz, NASTY_CHARS, type Rng } from "./prng.ts";

const FILE = "tests/fuzz/duration_test.ts";
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNIT_NAMES = Object.keys(UNITS);
const VALID = ["500ms", "90s", "5m", "1h30m", "1.5h", "2d", ".5s", "1h0m5s", "+3m", " 30s "];

function number(rng: Rng): string {
  const digits = () => rng.string("0123456789", rng.chance(0.05) ? 400 : 6) || "0";
  switch (rng.int(4)) {
    case 0:
      return digits();
    case 1:
      return `${digits()}.${digits()}`;
    case 2:
      return `.${digits()}`;
    default:
      return String(rng.range(0, 10_000));
  }
}

/** A duration built from parts, with the milliseconds it should mean. */
function composed(rng: Rng): { text: string; ms: number } {
  let text = "";
  let ms = 0;
  for (let i = rng.range(1, 4); i > 0; i--) {
    const n = number(rng);
    const unit = rng.pick(UNIT_NAMES);
    text += n + unit;
    ms += Number(n) * UNITS[unit];
  }
  return { text, ms };
}

function mutate(rng: Rng, text: string): string {
  const chars = [...text];
  for (let edits = rng.range(1, 3); edits > 0; edits--) {
    const at = rng.int(chars.length + 1);
    switch (rng.int(4)) {
      case 0:
        chars.splice(at, 1);
        break;
      case 1:
        chars.splice(at, 0, rng.pick([...NASTY_CHARS, ..."0123456789msdh.+-eE_ "]));
        break;
      case 2:
        chars.splice(at, 1, rng.pick(["m", "s", "ms", "h", "d", "0", "9", ".", "-", "µ", "ｍ"]));
        break;
      default:
        chars.splice(at, 0, ...chars.slice(0, rng.int(chars.length + 1)));
    }
  }
  return chars.join("");
}

function randomInput(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return rng.string([...NASTY_CHARS, ..."0123456789.msdh+-eE"], 40);
    case 1:
      return mutate(rng, rng.pick(VALID));
    case 2:
      return mutate(rng, composed(rng).text);
    default:
      return composed(rng).text;
  }
}

function checkResult(text: string, result: ReturnType<typeof parseDuration>): void {
  if ("ms" in result) {
    assert(Number.isSafeInteger(result.ms), `not a whole number: ${result.ms}`);
    assert(result.ms > 0 && result.ms <= MAX_DURATION_MS, `out of range: ${result.ms}`);
  } else {
    assert(typeof result.problem === "string" && result.problem.length > 0, "no reason given");
    assert(!result.problem.includes("undefined"), `odd reason: ${result.problem}`);
  }
  assertEquals(Object.keys(result).length, 1, `result of ${JSON.stringify(text)}`);
}

Deno.test("fuzz: any string parses to a positive whole duration in range, or to a reason", async () => {
  await fuzz("duration/any", randomInput, (text) => {
    checkResult(text, parseDuration(text));
  }, { file: FILE });
});

Deno.test("fuzz: a duration built from parts means the sum of its parts", async () => {
  await fuzz("duration/sum", composed, ({ text, ms }) => {
    const result = parseDuration(text);
    checkResult(text, result);
    const expected = Math.round(ms);
    if (expected > 0 && expected <= MAX_DURATION_MS) assertEquals(result, { ms: expected });
    else assert("problem" in result, `expected a refusal for ${text} (${ms} ms)`);
  }, { file: FILE });
});

Deno.test("fuzz: durations lokt prints parse back to the same value, to the printed precision", async () => {
  await fuzz("duration/round-trip", (rng) => {
    const scale = rng.pick([1_000, 60_000, 3_600_000, 86_400_000, MAX_DURATION_MS]);
    return rng.range(1, scale);
  }, (ms) => {
    const printed = formatDuration(ms);
    const result = parseDuration(printed);
    assert("ms" in result, `${printed} (from ${ms}) does not parse: ${JSON.stringify(result)}`);
    // formatDuration shows ms below a second, tenths below a minute, whole seconds above.
    const precision = ms < 1_000 ? 1 : ms < 60_000 ? 100 : 1_000;
    assert(
      result.ms <= ms && ms - result.ms < precision,
      `${ms} ms printed as ${printed} reads back as ${result.ms} ms`,
    );
    assertEquals(parseDuration(formatDuration(result.ms)), result, `${printed} is stable`);
  }, { file: FILE });
});

Deno.test("fuzz: a bad duration flag is a usage error, a good one a number of milliseconds", async () => {
  const spec = findCommand("lock")!;
  await fuzz("duration/flag", randomInput, (text) => {
    const expected = parseDuration(text);
    for (const argv of [["x", "--ttl", text], ["x", `--ttl=${text}`]]) {
      try {
        const parsed = parseArgs(spec, argv);
        // `--ttl -h` is a forgotten value followed by a request for help: help wins.
        if (parsed.kind === "help" && argv.length === 3 && /^(-h|--help(=.*)?)$/s.test(text)) {
          continue;
        }
        assert("ms" in expected, `accepted --ttl ${JSON.stringify(text)}`);
        assertEquals(parsed, {
          kind: "args",
          args: { flags: { ttl: expected.ms }, positionals: ["x"], command: undefined },
        });
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        assert("problem" in expected, `refused a valid --ttl ${JSON.stringify(text)}`);
      }
    }
  }, { file: FILE });
});
