/**
 * Claude Code's permission rules (`"permissions": { "allow": [...], "ask": [...], "deny": [...] }`
 * in its settings files) judged against the command an agent typed, before lokt rewrites it.
 *
 * Claude Code matches its rules against the command the hook returns, not the one the agent
 * typed, so after a rewrite the user's rules for `git push` no longer see `git push`. lokt makes
 * up for it by reading the rules itself, and errs on the side of asking:
 *
 * - a deny or ask rule counts when it *might* match (every literal piece of it occurs in the
 *   command, quotes and backslashes dropped): a superset of what Claude Code would match;
 * - an allow rule counts only when it *certainly* matches: a bare `Bash` (or `Bash(*)`), or a
 *   simple command (plain words, no shell syntax at all) that the rule's pattern matches whole.
 *
 * Pure: the settings come in as parsed values.
 */

import type { PermissionView } from "./verdict.ts";

/** One settings source: its name for messages, and its parsed content or why it is unusable. */
export type ClaudeSettingsSource =
  | { name: string; kind: "managed" | "user" | "project" | "local" | "flags"; settings: unknown }
  | { name: string; kind: "unreadable"; problem: string };

interface ParsedRule {
  text: string;
  source: string;
  tool: string;
  /** The part in parentheses; undefined for a bare tool name. */
  spec?: string;
}

const SIMPLE = /^[A-Za-z0-9_@%+=:,./-]+( [A-Za-z0-9_@%+=:,./-]+)*$/;

function globToRegex(glob: string): RegExp {
  const body = glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`, "s");
}

function parseRule(text: string, source: string): ParsedRule | undefined {
  const m = text.trim().match(/^([^()]+?)\s*(?:\((.*)\))?$/s);
  if (m === null) return undefined;
  return { text, source, tool: m[1], spec: m[2] };
}

function appliesToBash(rule: ParsedRule): boolean {
  return globToRegex(rule.tool).test("Bash");
}

/** A rule that covers every Bash command. */
function coversAll(rule: ParsedRule): boolean {
  return rule.spec === undefined || rule.spec.replaceAll(":", "").trim().replaceAll("*", "") === "";
}

/** Could Claude Code's matcher match this rule against the command? (A superset.) */
export function mightMatch(rule: ParsedRule, command: string): boolean {
  if (!appliesToBash(rule)) return false;
  if (coversAll(rule)) return true;
  const flat = (s: string) => s.replace(/["'\\]/g, "").replace(/\s+/g, " ");
  const text = flat(command);
  const spec = rule.spec!.endsWith(":*") ? rule.spec!.slice(0, -2) : rule.spec!;
  return spec.split("*").map((p) => flat(p).trim()).filter((p) => p !== "")
    .every((piece) => text.includes(piece));
}

/** Does the rule certainly allow the command? (A subset of what Claude Code would allow.) */
export function certainlyMatches(rule: ParsedRule, command: string): boolean {
  if (!appliesToBash(rule)) return false;
  if (coversAll(rule)) return true;
  const simple = command.trim();
  if (!SIMPLE.test(simple)) return false;
  const spec = rule.spec!.trim();
  if (spec.endsWith(":*")) {
    const prefix = spec.slice(0, -2);
    return simple === prefix || simple.startsWith(`${prefix} `);
  }
  return globToRegex(spec).test(simple);
}

function rulesOf(settings: unknown, list: "allow" | "ask" | "deny"): string[] {
  const permissions = (settings as { permissions?: unknown } | null)?.permissions;
  const rules = (permissions as Record<string, unknown> | undefined)?.[list];
  return Array.isArray(rules) ? rules.filter((r): r is string => typeof r === "string") : [];
}

/**
 * What Claude Code's own rules would make of `command`, as far as lokt can tell from `sources`:
 * deny or ask when a rule might apply, allow when one certainly does, else none (the mode
 * decides). Sources that could not be read are listed as doubts: with a doubt, nothing is allowed.
 */
export function judgeClaude(
  sources: readonly ClaudeSettingsSource[],
  command: string,
): PermissionView {
  const doubts: string[] = [];
  const parsed: Record<"allow" | "ask" | "deny", ParsedRule[]> = { allow: [], ask: [], deny: [] };
  const managedOnly = sources.some((s) =>
    s.kind === "managed" &&
    (s.settings as { allowManagedPermissionRulesOnly?: unknown } | null)
        ?.allowManagedPermissionRulesOnly === true
  );
  for (const source of sources) {
    if (source.kind === "unreadable") {
      doubts.push(`${source.name}: ${source.problem}`);
      continue;
    }
    for (const list of ["allow", "ask", "deny"] as const) {
      if (list === "allow" && managedOnly && source.kind !== "managed") continue;
      for (const text of rulesOf(source.settings, list)) {
        const rule = parseRule(text, source.name);
        if (rule !== undefined) parsed[list].push(rule);
        else if (list !== "allow") {
          doubts.push(`${source.name}: cannot read the rule ${JSON.stringify(text)}`);
        }
      }
    }
  }
  const deny = parsed.deny.find((r) => mightMatch(r, command));
  if (deny) return { verdict: "deny", rule: deny.text, source: deny.source, doubts };
  const ask = parsed.ask.find((r) => mightMatch(r, command));
  if (ask) return { verdict: "ask", rule: ask.text, source: ask.source, doubts };
  const allow = doubts.length > 0
    ? undefined
    : parsed.allow.find((r) => certainlyMatches(r, command));
  if (allow) return { verdict: "allow", rule: allow.text, source: allow.source, doubts };
  return { verdict: "none", doubts };
}

/**
 * Permission rules given to the running `claude` on its command line (`--allowedTools`,
 * `--disallowedTools`, either spelling), as one settings source. Values follow the flag until
 * the next flag; each may hold several rules separated by commas or spaces outside parentheses.
 */
export function rulesFromArgv(argv: readonly string[]): { allow: string[]; deny: string[] } {
  const found = { allow: [] as string[], deny: [] as string[] };
  const lists: Record<string, "allow" | "deny"> = {
    "--allowedTools": "allow",
    "--allowed-tools": "allow",
    "--disallowedTools": "deny",
    "--disallowed-tools": "deny",
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes("=") ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    const list = lists[flag];
    if (list === undefined) continue;
    const values = inline !== undefined ? [inline] : [];
    if (inline === undefined) {
      while (i + 1 < argv.length && !argv[i + 1].startsWith("-")) values.push(argv[++i]);
    }
    for (const value of values) found[list].push(...splitRules(value));
  }
  return found;
}

/** `Bash(git push:*),Edit Read` -> three rules; commas and spaces inside parentheses stay. */
function splitRules(value: string): string[] {
  const rules: string[] = [];
  let depth = 0;
  let current = "";
  for (const c of value) {
    if (c === "(") depth++;
    if (c === ")") depth = Math.max(0, depth - 1);
    if (depth === 0 && (c === "," || c === " ")) {
      if (current.trim() !== "") rules.push(current.trim());
      current = "";
    } else {
      current += c;
    }
  }
  if (current.trim() !== "") rules.push(current.trim());
  return rules;
}
