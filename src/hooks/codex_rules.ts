/**
 * Codex's command rules (`prefix_rule(pattern = [...], decision = "allow" | "prompt" |
 * "forbidden")` in `rules/*.rules` files) judged against the command an agent typed, before lokt
 * rewrites it. Codex matches them against the command it finally runs, so after a rewrite a
 * `forbidden` or `prompt` rule for `git push` no longer sees `git push`; lokt then leaves such a
 * command alone. A rule counts when it *might* match: some alternative of every pattern element
 * occurs among the command's words (a superset of Codex's exact-prefix match). A `prefix_rule`
 * lokt cannot read counts as matching everything. Pure.
 */

import type { PermissionView } from "./verdict.ts";

/** One rules file: its name for messages and its text, or why it could not be read. */
export type CodexRulesSource =
  | { name: string; text: string }
  | { name: string; problem: string };

interface PrefixRule {
  /** Each element: the words accepted at that place; undefined when it could not be read. */
  pattern?: string[][];
  decision: string;
  text: string;
}

/** The string literals and nested lists of a bracketed list, e.g. `["git", ["push", "pull"]]`. */
function readList(text: string): string[][] | undefined {
  const elements: string[][] = [];
  let i = text.indexOf("[");
  if (i < 0) return undefined;
  i++;
  const literal = /\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*,?/y;
  while (i < text.length) {
    while (/\s|,/.test(text[i] ?? "")) i++;
    if (text[i] === "]") return elements;
    if (text[i] === "[") {
      const close = text.indexOf("]", i);
      if (close < 0) return undefined;
      const inner = readList(text.slice(i, close + 1));
      if (inner === undefined) return undefined;
      elements.push(inner.flat());
      i = close + 1;
      continue;
    }
    literal.lastIndex = i;
    const m = literal.exec(text);
    if (m === null) return undefined;
    elements.push([m[1] ?? m[2]]);
    i = literal.lastIndex;
  }
  return undefined;
}

/** The `prefix_rule(...)` calls of a rules file. */
export function prefixRules(text: string): PrefixRule[] {
  const rules: PrefixRule[] = [];
  const call = /\bprefix_rule\s*\(/g;
  for (let m = call.exec(text); m !== null; m = call.exec(text)) {
    // The call ends at the parenthesis that balances the opening one (strings skipped).
    let depth = 1;
    let end = call.lastIndex;
    for (; end < text.length && depth > 0; end++) {
      const c = text[end];
      if (c === '"' || c === "'") {
        const close = text.indexOf(c, end + 1);
        end = close < 0 ? text.length : close;
      } else if (c === "(") depth++;
      else if (c === ")") depth--;
    }
    const body = text.slice(call.lastIndex, end - 1);
    const patternAt = body.search(/\bpattern\s*=/);
    const pattern = patternAt < 0 ? undefined : readList(body.slice(patternAt));
    const decision = body.match(/\bdecision\s*=\s*["']([a-z_]+)["']/)?.[1] ?? "allow";
    rules.push({ pattern, decision, text: `prefix_rule(${body.trim().replace(/\s+/g, " ")})` });
  }
  return rules;
}

/** The command's words, quotes dropped, split at spaces and shell operators. */
function words(command: string): Set<string> {
  return new Set(command.replace(/["'\\]/g, "").split(/[\s;&|()<>`$]+/).filter((w) => w !== ""));
}

/**
 * What Codex's rules would make of `command`: deny for a `forbidden` rule, ask for a `prompt`
 * rule that might match, else none (an `allow` rule lets the original run outside the sandbox;
 * the rewrite then runs inside it, which asks for no more than the original).
 */
export function judgeCodex(sources: readonly CodexRulesSource[], command: string): PermissionView {
  const doubts: string[] = [];
  const have = words(command);
  let prompt: { rule: string; source: string } | undefined;
  for (const source of sources) {
    if ("problem" in source) {
      doubts.push(`${source.name}: ${source.problem}`);
      continue;
    }
    for (const rule of prefixRules(source.text)) {
      const might = rule.pattern === undefined ||
        rule.pattern.every((alternatives) => alternatives.some((w) => have.has(w)));
      if (!might) continue;
      if (rule.decision === "forbidden") {
        return { verdict: "deny", rule: rule.text, source: source.name, doubts };
      }
      if (rule.decision !== "allow") prompt ??= { rule: rule.text, source: source.name };
    }
  }
  if (prompt) return { verdict: "ask", rule: prompt.rule, source: prompt.source, doubts };
  return { verdict: "none", doubts };
}
