/**
 * The command a matching shell command becomes: the same text, run by a child shell under
 * `lokt guard NAME --wait`. The text is passed as one single-quoted word, so nothing in it
 * (quotes, `$(...)`, backticks, newlines, `'; rm -rf ~ #`) is seen by the outer shell. Pure.
 */

import { shellWord, shQuote } from "../shell.ts";
import type { GuardRule } from "./rules.ts";

/** Wait budget when the harness does not say how long a command may run. */
export const DEFAULT_WAIT_MS = 100_000;

/** Claude Code's own default and largest command timeouts (`BASH_*_TIMEOUT_MS` change them). */
export const CLAUDE_DEFAULT_TIMEOUT_MS = 120_000;
export const CLAUDE_MAX_TIMEOUT_MS = 600_000;

/** Shells whose `-c` runs POSIX-style command text. */
const SHELLS = ["bash", "zsh", "sh", "dash", "ksh", "mksh", "ash"];

/** The child shell: the user's `SHELL` when it is one of these, else `bash`. */
export function childShell(shellEnv: string | undefined): string {
  const base = shellEnv?.slice(shellEnv.lastIndexOf("/") + 1);
  return shellEnv !== undefined && base !== undefined && SHELLS.includes(base) ? shellEnv : "bash";
}

/**
 * How long a guard may wait: the rule's timeout, shortened to leave the harness room (a fifth of
 * its timeout, at most 20 s) so that lokt's own message, not the harness's kill, ends a long wait.
 */
export function waitBudgetMs(rule: GuardRule, harnessTimeoutMs: number | undefined): number {
  const ruleMs = rule.timeoutMs ?? Infinity;
  if (harnessTimeoutMs === undefined) return Math.min(ruleMs, DEFAULT_WAIT_MS);
  const room = Math.min(20_000, harnessTimeoutMs / 5);
  return Math.max(1_000, Math.min(ruleMs, harnessTimeoutMs - room));
}

/** `2m`, `90s`, `1500ms`: a duration as `lokt guard` reads it. */
export function durationFlag(ms: number): string {
  const whole = Math.round(ms);
  if (whole % 60_000 === 0) return `${whole / 60_000}m`;
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

/** Everything that shapes a rewritten command. */
export interface RewriteInput {
  /** The agent's command, exactly as it would have run. */
  command: string;
  rule: GuardRule;
  /** The harness's session id: the guard's agent id. */
  sessionId?: string;
  /** Words that start lokt (`lokt`, or a path to it), quoted here as needed. */
  lokt: readonly string[];
  /** The child shell that runs the command text. */
  shell: string;
  waitMs: number;
}

/** The rewritten command line. */
export function rewriteCommand(input: RewriteInput): string {
  const words: string[] = [];
  if (input.sessionId !== undefined) words.push(`LOKT_AGENT_ID=${shQuote(input.sessionId)}`);
  words.push(...input.lokt.map(shellWord), "guard", input.rule.name, "--wait", "--quiet");
  if (input.rule.ttlMs !== undefined) words.push("--ttl", durationFlag(input.rule.ttlMs));
  words.push("--timeout", durationFlag(input.waitMs), "--", shellWord(input.shell), "-c");
  words.push(shQuote(input.command));
  return words.join(" ");
}

/**
 * Does the command already run lokt (`lokt guard ...`, `/usr/local/bin/lokt ...`, `x && lokt
 * lock ...`)? Such commands are never wrapped again: lokt is already in charge of them.
 */
export function runsLokt(command: string, selfWords: readonly string[] = []): boolean {
  if (/(?:^|[\s;&|(){}`'"=])(?:[^\s;&|(){}`'"]*\/)?lokt['"]?(?:\s|$)/.test(command)) return true;
  const self = selfWords.length > 0 ? selfWords.map(shellWord).join(" ") : undefined;
  return self !== undefined && command.includes(self);
}
