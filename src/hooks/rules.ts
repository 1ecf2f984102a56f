/**
 * The `guard` rules of `lokt.jsonc`: which shell commands run under which lock, and which need
 * the user's confirmation first. Reading them is pure: the parsed document in, rules and
 * problems (each with its place in the file) out. The first rule whose regex finds a match in a
 * command decides for it.
 *
 * ```jsonc
 * "guard": [
 *   { "match": "(^|[;&|]\\s*)git push\\b", "name": "push", "ttl": "2m", "timeout": "100s" },
 *   { "match": "lokt (unlock|unfreeze)\\b.*--force", "ask": "breaks someone else's lock" }
 * ]
 * ```
 */

import type { JsoncDocument } from "../config/jsonc.ts";
import type { ProjectConfig } from "../config/project.ts";
import { parseDuration } from "../duration.ts";
import type { FilePosition } from "../errors.ts";
import { nameProblem } from "../locks/name.ts";

/** Runs matching commands under `lokt guard NAME --wait`. */
export interface GuardRule {
  kind: "guard";
  /** Index in the `guard` list. */
  index: number;
  position?: FilePosition;
  /** The regex as written. */
  pattern: string;
  regex: RegExp;
  name: string;
  ttlMs?: number;
  /** Upper bound of the wait; the hook may shorten it to fit the harness's timeout. */
  timeoutMs?: number;
}

/** Asks the user before a matching command runs. */
export interface AskRule {
  kind: "ask";
  index: number;
  position?: FilePosition;
  pattern: string;
  regex: RegExp;
  /** Shown to the user in the confirmation. */
  reason: string;
}

/** One rule of the `guard` list. */
export type Rule = GuardRule | AskRule;

/** Something wrong with the `guard` list, and where. */
export interface RuleProblem {
  /** The rule's index, or undefined when the list itself is wrong. */
  index?: number;
  position?: FilePosition;
  message: string;
}

/** The rules that could be read, and every problem found. */
export interface RuleSet {
  rules: Rule[];
  problems: RuleProblem[];
}

const GUARD_KEYS = ["match", "name", "ttl", "timeout"];
const ASK_KEYS = ["match", "ask"];

function place(pos: { line: number; column: number } | undefined): FilePosition | undefined {
  return pos === undefined ? undefined : { line: pos.line, column: pos.column };
}

/** Reads one entry; returns the rule, or records its problems and returns undefined. */
function readRule(
  entry: unknown,
  index: number,
  document: JsoncDocument,
  list: unknown[],
  problems: RuleProblem[],
): Rule | undefined {
  const at = place(document.positionOf(list, index));
  const label = `guard[${index}]`;
  const problem = (message: string, position = at) =>
    problems.push({ index, position, message: `${label}${message}` });
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    problem(': each rule is an object: { "match": "...", "name": "..." }');
    return undefined;
  }
  const fields = entry as Record<string, unknown>;
  const fieldAt = (key: string) => place(document.positionOf(fields, key)) ?? at;
  const before = problems.length;
  const isAsk = Object.hasOwn(fields, "ask");
  const allowed = isAsk ? ASK_KEYS : GUARD_KEYS;
  for (const key of Object.keys(fields)) {
    if (allowed.includes(key)) continue;
    const other = isAsk ? GUARD_KEYS.includes(key) : ASK_KEYS.includes(key);
    problem(
      other
        ? `.${key}: an "ask" rule takes only "match" and "ask"; a guard rule takes ` +
          `"match", "name", "ttl" and "timeout"`
        : `.${key}: unknown key (a rule takes ${allowed.map((k) => `"${k}"`).join(", ")})`,
      fieldAt(key),
    );
  }

  let regex: RegExp | undefined;
  const pattern = fields.match;
  if (typeof pattern !== "string" || pattern === "") {
    problem(
      pattern === undefined
        ? ': "match" is missing (a regex that finds the commands)'
        : ".match: must be a non-empty string (a regex)",
      pattern === undefined ? at : fieldAt("match"),
    );
  } else {
    try {
      regex = new RegExp(pattern);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      problem(
        `.match: not a valid regex: ${why.replace(/^Invalid regular expression: /, "")}`,
        fieldAt("match"),
      );
    }
    if (regex !== undefined && regex.test("")) {
      problem(".match: matches every command, even an empty one", fieldAt("match"));
    }
  }

  if (isAsk) {
    const reason = fields.ask;
    if (typeof reason !== "string" || reason.trim() === "") {
      problem(".ask: must say why the user is asked (a non-empty string)", fieldAt("ask"));
    }
    if (problems.length > before) return undefined;
    return {
      kind: "ask",
      index,
      position: at,
      pattern: pattern as string,
      regex: regex!,
      reason: (reason as string).trim(),
    };
  }

  const name = fields.name;
  if (typeof name !== "string") {
    problem(
      name === undefined
        ? ': "name" is missing (the lock matching commands run under), or "ask" for a confirmation'
        : ".name: must be a string",
      name === undefined ? at : fieldAt("name"),
    );
  } else {
    const wrong = nameProblem(name);
    if (wrong !== undefined) {
      problem(`.name: ${JSON.stringify(name)} is not a lock name: ${wrong}`, fieldAt("name"));
    }
  }
  const duration = (key: "ttl" | "timeout"): number | undefined => {
    const raw = fields[key];
    if (raw === undefined) return undefined;
    if (typeof raw !== "string") {
      problem(`.${key}: must be a duration in a string, e.g. "90s" or "5m"`, fieldAt(key));
      return undefined;
    }
    const parsed = parseDuration(raw);
    if ("problem" in parsed) {
      problem(`.${key}: ${parsed.problem}`, fieldAt(key));
      return undefined;
    }
    return parsed.ms;
  };
  const ttlMs = duration("ttl");
  const timeoutMs = duration("timeout");
  if (problems.length > before) return undefined;
  return {
    kind: "guard",
    index,
    position: at,
    pattern: pattern as string,
    regex: regex!,
    name: name as string,
    ttlMs,
    timeoutMs,
  };
}

/** The rules of a configuration file; an absent file or `guard` key has none. */
export function readRules(config: ProjectConfig): RuleSet {
  if (config.kind !== "loaded") return { rules: [], problems: [] };
  const list = config.data.guard;
  if (list === undefined) return { rules: [], problems: [] };
  const problems: RuleProblem[] = [];
  if (!Array.isArray(list)) {
    problems.push({
      position: place(config.document.positionOf(config.data, "guard")),
      message: 'guard: must be a list of rules: [{ "match": "...", "name": "..." }, ...]',
    });
    return { rules: [], problems };
  }
  const rules: Rule[] = [];
  list.forEach((entry, index) => {
    const rule = readRule(entry, index, config.document, list, problems);
    if (rule !== undefined) rules.push(rule);
  });
  return { rules, problems };
}

/** The first rule that finds a match in `command`, if any. */
export function firstMatch(rules: readonly Rule[], command: string): Rule | undefined {
  return rules.find((rule) => rule.regex.test(command));
}

/** `lokt.jsonc:3:5: guard[1].ttl: ...`: a problem as one line. */
export function problemLine(path: string, problem: RuleProblem): string {
  const where = problem.position === undefined
    ? path
    : `${path}:${problem.position.line}:${problem.position.column}`;
  return `${where}: ${problem.message}`;
}
