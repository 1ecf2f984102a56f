/**
 * One run of `lokt hook claude-code|codex`: the hook input in, what to print out. Nothing here
 * can wedge an agent: every failure (unreadable `lokt.jsonc`, an invalid rule, malformed input,
 * a bug) leaves the command as typed, with one line on stderr and a `systemMessage` that the
 * harness shows the user. A command no rule matches costs reading the input and `lokt.jsonc`,
 * nothing more: the harness's settings are read only for a command that matches.
 */

import { loadProjectConfig, type ReadConfigText } from "../config/project.ts";
import { configPath, workTreeTop } from "../root.ts";
import { judgeClaude } from "./claude_rules.ts";
import { judgeCodex } from "./codex_rules.ts";
import { answerJson, decide, fallbackJson } from "./decide.ts";
import { type Harness, readHookInput, type ShellCall } from "./input.ts";
import { childShell, CLAUDE_DEFAULT_TIMEOUT_MS, CLAUDE_MAX_TIMEOUT_MS } from "./rewrite.ts";
import { firstMatch, problemLine, readRules } from "./rules.ts";
import { claudeSources, codexSources, type SourceAccess } from "./sources.ts";

/** What the hook process prints; both empty: nothing to say, the command runs as typed. */
export interface HookOutput {
  stdout: string;
  stderr: string;
}

/** The outside world of one hook run. */
export interface HookAccess extends SourceAccess {
  cwd(): string;
  /** Is there an executable file at this path? */
  isExecutable(path: string): boolean;
  /** Words that start this very lokt, for when `lokt` is not on PATH. */
  self: readonly string[];
}

const NOTHING: HookOutput = { stdout: "", stderr: "" };

function leaveAsTyped(why: string): HookOutput {
  const line = `lokt hook: ${
    why.replace(/\s+/g, " ").trim()
  }; the command runs as typed, unguarded`;
  return { stdout: fallbackJson(line) + "\n", stderr: line + "\n" };
}

/** `lokt` when PATH finds it (the rewritten command reads best so), else this lokt's own words. */
function loktWords(access: HookAccess): readonly string[] {
  for (const dir of (access.env("PATH") ?? "").split(":")) {
    if (dir !== "" && access.isExecutable(`${dir}/lokt`)) return ["lokt"];
  }
  return access.self;
}

function positiveInt(text: string | undefined): number | undefined {
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** How long the harness lets the command run, when lokt can know. */
function harnessTimeoutMs(call: ShellCall, access: HookAccess): number | undefined {
  if (call.harness !== "claude-code") return undefined;
  const fallback = positiveInt(access.env("BASH_DEFAULT_TIMEOUT_MS")) ?? CLAUDE_DEFAULT_TIMEOUT_MS;
  const max = Math.max(
    positiveInt(access.env("BASH_MAX_TIMEOUT_MS")) ?? CLAUDE_MAX_TIMEOUT_MS,
    fallback,
  );
  return call.timeoutMs === undefined ? fallback : Math.min(call.timeoutMs, max);
}

function decideFor(call: ShellCall, access: HookAccess): HookOutput {
  const cwd = call.cwd ?? access.cwd();
  const config = loadProjectConfig(configPath(cwd), access.readText as ReadConfigText);
  if (config.kind === "invalid") return leaveAsTyped(config.error.message);
  const { rules, problems } = readRules(config);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: lokt doctor)` : "";
    return leaveAsTyped(
      `${problemLine(config.path, problems[0])}${more}; no rule applies until it is fixed`,
    );
  }
  // The common case: nothing matches, and nothing more is read.
  if (firstMatch(rules, call.command) === undefined) return NOTHING;

  const project = access.env("CLAUDE_PROJECT_DIR") ?? workTreeTop(cwd);
  const answer = decide(call, {
    rules,
    permissions: () =>
      call.harness === "claude-code"
        ? judgeClaude(claudeSources(project, access), call.command)
        : judgeCodex(codexSources(project, access), call.command),
    lokt: loktWords(access),
    shell: childShell(access.env("SHELL")),
    harnessTimeoutMs: harnessTimeoutMs(call, access),
  });
  const json = answerJson(call, answer);
  return {
    stdout: json === undefined ? "" : json + "\n",
    stderr: answer.kind === "leave" && answer.note !== undefined ? answer.note + "\n" : "",
  };
}

/** Answers one hook input. Never throws. */
export function answerHook(harness: Harness, raw: string, access: HookAccess): HookOutput {
  try {
    const input = readHookInput(harness, raw);
    switch (input.kind) {
      case "other":
        return NOTHING;
      case "malformed":
        return leaveAsTyped(input.problem);
      case "shell":
        return decideFor(input.call, access);
    }
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return leaveAsTyped(`internal error (${why}); please report it`);
  }
}
