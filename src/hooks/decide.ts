/**
 * The hook's decision for one shell command, and the JSON answer each harness reads. Pure: the
 * rules, the harness's own permission verdict and the environment come in as values.
 *
 * Permissions stay the user's. Both harnesses judge their permission rules against the command
 * the hook returns, not the one the agent typed (Claude Code says so in its hooks reference; Codex
 * applies the rewrite before its approval and sandbox checks), so lokt judges the typed command
 * against those rules itself and answers accordingly:
 *
 * | typed command, by the user's rules | Claude Code answer       | Codex answer             |
 * | ---------------------------------- | ------------------------ | ------------------------ |
 * | a deny rule might apply            | left as typed            | left as typed            |
 * | an ask / prompt rule might apply   | rewrite, `ask`           | left as typed            |
 * | an allow rule certainly applies    | rewrite, `allow`         | rewrite (`allow` marker) |
 * | no rule: the mode decides          | rewrite, `ask` (`allow`  | rewrite (`allow` marker) |
 * |                                    | in bypassPermissions)    |                          |
 *
 * Codex's `allow` only marks a rewrite (Codex accepts `updatedInput` with nothing else, and
 * ignores `allow` as an approval); its approval policy and sandbox still judge the rewritten
 * command. Codex has no `ask` for PreToolUse, so an ask rule becomes a deny whose reason tells
 * the agent to hand the command to the user.
 */

import type { Harness, ShellCall } from "./input.ts";
import { rewriteCommand, runsLokt, waitBudgetMs } from "./rewrite.ts";
import { type AskRule, firstMatch, type GuardRule, type Rule } from "./rules.ts";
import type { PermissionView } from "./verdict.ts";

/** What the hook does with one command. */
export type HookAnswer =
  | { kind: "leave"; note?: string }
  | {
    kind: "rewrite";
    command: string;
    rule: GuardRule;
    /** What the rewrite asks of the harness. */
    permission: "allow" | "ask";
    reason: string;
  }
  | { kind: "ask"; rule: AskRule; reason: string }
  | { kind: "deny"; rule: AskRule; reason: string };

/** Facts about the surroundings of one hook run. */
export interface DecideContext {
  rules: readonly Rule[];
  /** The harness's own verdict on the typed command; asked only when a guard rule matches. */
  permissions: () => PermissionView;
  /** Words that start lokt in the rewritten command. */
  lokt: readonly string[];
  /** The child shell. */
  shell: string;
  /** The harness's timeout for the command, when known. */
  harnessTimeoutMs?: number;
}

function ruleLabel(rule: Rule): string {
  return `lokt.jsonc guard[${rule.index}]`;
}

function askAnswer(harness: Harness, rule: AskRule, command: string): HookAnswer {
  if (harness === "claude-code") {
    return { kind: "ask", rule, reason: `${ruleLabel(rule)}: ${rule.reason}` };
  }
  return {
    kind: "deny",
    rule,
    reason: `${ruleLabel(rule)} requires the user's confirmation (${rule.reason}), and Codex ` +
      `hooks cannot ask for it: do not run this yourself; ask the user to run \`${command}\` or ` +
      "to confirm another way.",
  };
}

function leaveNote(view: PermissionView, harness: Harness, rule: GuardRule): string {
  const who = harness === "claude-code" ? "Claude Code" : "Codex";
  return `lokt: not guarding this command under "${rule.name}": your ${view.verdict} rule ` +
    `${view.rule} (${view.source}) may apply to it, and ${who} would not see it in the ` +
    "rewritten command; it runs as typed.";
}

/** Decides for one shell call. */
export function decide(call: ShellCall, ctx: DecideContext): HookAnswer {
  const rule = firstMatch(ctx.rules, call.command);
  if (rule === undefined) return { kind: "leave" };
  if (rule.kind === "ask") return askAnswer(call.harness, rule, call.command);
  if (runsLokt(call.command, ctx.lokt)) return { kind: "leave" };

  const view = ctx.permissions();
  if (view.verdict === "deny" || (view.verdict === "ask" && call.harness === "codex")) {
    return { kind: "leave", note: leaveNote(view, call.harness, rule) };
  }
  if (call.harness === "codex" && view.doubts.length > 0) {
    // An unreadable rules file may forbid the command: only Codex itself can judge it.
    return {
      kind: "leave",
      note: `lokt: not guarding this command under "${rule.name}": lokt could not read ` +
        `${view.doubts[0]}; it runs as typed.`,
    };
  }
  const command = rewriteCommand({
    command: call.command,
    rule,
    sessionId: call.sessionId,
    lokt: ctx.lokt,
    shell: ctx.shell,
    waitMs: waitBudgetMs(rule, ctx.harnessTimeoutMs),
  });
  const under = `runs under lokt lock "${rule.name}" (${ruleLabel(rule)})`;
  if (call.harness === "codex") {
    return { kind: "rewrite", command, rule, permission: "allow", reason: under };
  }
  if (view.verdict === "allow") {
    return {
      kind: "rewrite",
      command,
      rule,
      permission: "allow",
      reason: `${under}; allowed by your rule ${view.rule} (${view.source})`,
    };
  }
  if (
    view.verdict === "none" && call.permissionMode === "bypassPermissions" &&
    view.doubts.length === 0
  ) {
    return {
      kind: "rewrite",
      command,
      rule,
      permission: "allow",
      reason: `${under}; bypassPermissions mode`,
    };
  }
  const why = view.verdict === "ask"
    ? `your ask rule ${view.rule} (${view.source}) applies`
    : view.doubts.length > 0
    ? `lokt could not read ${view.doubts[0]}`
    : "no allow rule of yours certainly covers it";
  return {
    kind: "rewrite",
    command,
    rule,
    permission: "ask",
    reason: `${under}; you are asked because ${why}. The command: ${call.command}`,
  };
}

/** The JSON a harness reads on the hook's stdout, or undefined for none. */
export function answerJson(call: ShellCall, answer: HookAnswer): string | undefined {
  switch (answer.kind) {
    case "leave":
      return undefined;
    case "ask":
      return JSON.stringify({
        hookSpecificOutput: {
          hookEventName: "PreToolUse",
          permissionDecision: "ask",
          permissionDecisionReason: answer.reason,
        },
      });
    case "deny":
      return JSON.stringify({
        hookSpecificOutput: {
          hookEventName: "PreToolUse",
          permissionDecision: "deny",
          permissionDecisionReason: answer.reason,
        },
      });
    case "rewrite":
      if (call.harness === "codex") {
        // Codex takes a rewrite only paired with "allow", and no reason beside it.
        return JSON.stringify({
          hookSpecificOutput: {
            hookEventName: "PreToolUse",
            permissionDecision: "allow",
            updatedInput: { command: answer.command },
          },
        });
      }
      // Claude Code replaces the whole tool input: keep its other fields.
      return JSON.stringify({
        hookSpecificOutput: {
          hookEventName: "PreToolUse",
          permissionDecision: answer.permission,
          permissionDecisionReason: answer.reason,
          updatedInput: { ...call.toolInput, command: answer.command },
        },
      });
  }
}
