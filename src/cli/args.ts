/**
 * The argument parser, driven by the command table. Flags may come before or after positional
 * arguments; `--` ends the flags (and, for `guard`, starts the command). Pure: no I/O.
 */

import { UsageError } from "../errors.ts";
import { parseDuration } from "../duration.ts";
import type { CommandSpec, FlagSpec, FlagValues, ParsedArgs } from "./spec.ts";
import { slotsProblem } from "../locks/slots.ts";

/** `--help` / `-h`, accepted by every command. */
export const HELP_FLAG: FlagSpec = {
  name: "help",
  short: "h",
  type: "boolean",
  summary: "show this help",
};

/** Edit distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The closest candidate within two edits, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    // The distance is at least the difference in length: a long word needs no table.
    if (Math.abs(word.length - candidate.length) >= bestDistance) continue;
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function convert(spec: CommandSpec, flag: FlagSpec, raw: string): string | number {
  const label = `--${flag.name}`;
  switch (flag.type) {
    case "duration": {
      const parsed = parseDuration(raw);
      if ("problem" in parsed) {
        throw new UsageError(`${label}: ${parsed.problem}`, `see \`lokt ${spec.name} --help\``);
      }
      return parsed.ms;
    }
    case "integer": {
      const n = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
        throw new UsageError(`${label}: "${raw}" is not a whole number`);
      }
      return n;
    }
    case "string":
      if (flag.choices && !flag.choices.includes(raw)) {
        throw new UsageError(`${label}: "${raw}" is not one of ${flag.choices.join(", ")}`);
      }
      return raw;
    case "boolean":
      throw new Error("boolean flags take no value");
  }
}

function unknownFlag(spec: CommandSpec, token: string): UsageError {
  const names = [...spec.flags, HELP_FLAG].map((f) => `--${f.name}`);
  const guess = closest(token.split("=")[0], names);
  return new UsageError(
    `unknown flag ${token.split("=")[0]} for \`lokt ${spec.name}\``,
    guess
      ? `did you mean ${guess}? (see \`lokt ${spec.name} --help\`)`
      : `see \`lokt ${spec.name} --help\``,
  );
}

/** `--`, `--x`, `-x`: a word that cannot be a flag's value unless given as `--flag=VALUE`. */
function looksLikeFlag(token: string): boolean {
  return token.startsWith("-") && token.length > 1 && !/^-\d/.test(token);
}

/** The result of parsing: the arguments, or a request for help. */
export type ParseResult = { kind: "args"; args: ParsedArgs } | { kind: "help" };

/** Parses `argv` (the words after the command name) against `spec`. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParseResult {
  const flags: FlagValues = {};
  const positionals: string[] = [];
  let command: string[] | undefined;
  const all = [...spec.flags, HELP_FLAG];
  const byLong = new Map(all.map((f) => [f.name, f]));
  const byShort = new Map(all.filter((f) => f.short).map((f) => [f.short!, f]));
  let help = false;
  let deferred: UsageError | undefined;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--") {
      const rest = argv.slice(i + 1);
      if (spec.takesCommand) command = rest;
      else positionals.push(...rest);
      break;
    }
    let flag: FlagSpec | undefined;
    let inline: string | undefined;
    if (!looksLikeFlag(token)) {
      positionals.push(token);
      continue;
    }
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      inline = eq < 0 ? undefined : token.slice(eq + 1);
      flag = byLong.get(name);
    } else if (token.length === 2 || token[2] === "=") {
      // `-E 99` and `-E=99`, as `--conflict-exit-code 99` and `--conflict-exit-code=99`.
      inline = token.length === 2 ? undefined : token.slice(3);
      flag = byShort.get(token[1]);
    }
    if (flag === undefined) {
      deferred ??= unknownFlag(spec, token);
      continue;
    }
    if (flag.name === "help") {
      help = true;
      continue;
    }
    if (flag.type === "boolean") {
      if (inline !== undefined) {
        if (inline !== "true" && inline !== "false") {
          deferred ??= new UsageError(`--${flag.name} takes no value (got "${inline}")`);
          continue;
        }
        flags[flag.name] = inline === "true";
      } else {
        flags[flag.name] = true;
      }
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      // `--ttl --json` is a forgotten value, not a duration named "--json".
      if (i + 1 >= argv.length || looksLikeFlag(argv[i + 1])) {
        deferred ??= new UsageError(
          `--${flag.name} needs a value (${flag.placeholder ?? flag.type})`,
          `see \`lokt ${spec.name} --help\``,
        );
        continue;
      }
      raw = argv[++i];
    }
    try {
      flags[flag.name] = convert(spec, flag, raw);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      deferred ??= error;
    }
  }

  if (help) return { kind: "help" };
  if (deferred) throw deferred;
  return { kind: "args", args: { flags, positionals, command } };
}

/**
 * Checks the positional arguments against the spec: returns them when the count fits, else
 * throws a usage error that shows the usage line.
 */
export function expectPositionals(spec: CommandSpec, args: ParsedArgs): string[] {
  const required = spec.positionals.filter((p) => !p.optional).length;
  const given = args.positionals;
  if (given.length < required) {
    const missing = spec.positionals[given.length].name;
    throw new UsageError(`missing ${missing}`, `usage: lokt ${spec.name} ${spec.usage}`);
  }
  if (given.length > spec.positionals.length) {
    const extra = given[spec.positionals.length];
    throw new UsageError(
      `unexpected argument "${extra}"`,
      spec.takesCommand
        ? `put the command after \`--\`: lokt ${spec.name} ${spec.usage}`
        : `usage: lokt ${spec.name} ${spec.usage}`,
    );
  }
  return given;
}

/**
 * The `--slots` flag: the name's number of slots, 1 (a plain lock) when absent. 0 or more than
 * `MAX_SLOTS` is a usage error, raised before any file is touched.
 */
export function slotsFlag(flags: ParsedArgs["flags"]): number {
  const slots = flags.slots as number | undefined;
  if (slots === undefined) return 1;
  const problem = slotsProblem(slots);
  if (problem !== undefined) {
    throw new UsageError(`${problem}, not ${slots}`, "--slots 2 lets two holders in at once");
  }
  return slots;
}
