/**
 * Harness hooks: `lokt.jsonc` `guard` rules, and the PreToolUse hooks of Claude Code and Codex
 * that run matching shell commands under `lokt guard` (or ask the user first), with the user's
 * own permission rules kept in force. Also adding the hook to a harness's settings, and taking it
 * out again. See `docs/hooks.md`.
 *
 * @module
 */

export { answerHook, type HookAccess, type HookOutput } from "./answer.ts";
export { answerJson, decide, type DecideContext, type HookAnswer } from "./decide.ts";
export { unifiedDiff } from "./diff.ts";
export { type Harness, HARNESSES, type HookInput, readHookInput, type ShellCall } from "./input.ts";
export { hasHook, HOOK_FILES, hookCommand, installHook, uninstallHook } from "./install.ts";
export { childShell, rewriteCommand, runsLokt, waitBudgetMs } from "./rewrite.ts";
export {
  type AskRule,
  firstMatch,
  type GuardRule,
  problemLine,
  readRules,
  type Rule,
  type RuleProblem,
  type RuleSet,
} from "./rules.ts";
export type { PermissionView, Verdict } from "./verdict.ts";
