/**
 * The answer for a command that a rule matches: the harness's permission rules read and judged,
 * the decision made and turned into the harness's JSON. Loaded only when a rule matches.
 */

import { workTreeTop } from "../root.ts";
import type { HookAccess, HookOutput } from "./answer.ts";
import { judgeClaude } from "./claude_rules.ts";
import { judgeCodex } from "./codex_rules.ts";
import { answerJson, decide } from "./decide.ts";
import type { ShellCall } from "./input.ts";
import { childShell, CLAUDE_DEFAULT_TIMEOUT_MS, CLAUDE_MAX_TIMEOUT_MS } from "./rewrite.ts";
import type { Rule } from "./rules.ts";
import { claudeSources, codexSources } from "./sources.ts";

/** `lokt` when PATH finds it (the rewritten command reads best so), else this lokt's own words. */
function loktWords(access: HookAccess): readonly string[] {
  for (const dir of (access.env("PATH") ?? "").split(":")) {
    if (dir !== "" && access.isExecutable(`${dir}/lokt`)) return ["lokt"];
  }
  return access.self();
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

/** Decides for a matched command and renders the answer. */
export function respond(
  call: ShellCall,
  rules: readonly Rule[],
  cwd: string,
  access: HookAccess,
): HookOutput {
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
