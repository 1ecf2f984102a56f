/**
 * One run of `lokt hook claude-code|codex`: the hook input in, what to print out. Nothing here
 * can wedge an agent: every failure (unreadable `lokt.jsonc`, an invalid rule, malformed input,
 * a bug) leaves the command as typed, with one line on stderr and a `systemMessage` that the
 * harness shows the user. A command no rule matches costs reading the input and `lokt.jsonc`,
 * nothing more: the rest of the hook (`respond.ts`) is loaded, and the harness's settings read,
 * only for a command that matches.
 */

import { loadProjectConfig, type ReadConfigText } from "../config/project.ts";
import { configPath } from "../root.ts";
import { fallbackJson } from "./fallback.ts";
import { type Harness, readHookInput, type ShellCall } from "./input.ts";
import { firstMatch, problemLine, readRules, type Rule } from "./rules.ts";
import type { SourceAccess } from "./sources.ts";

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
  self(): readonly string[];
}

const NOTHING: HookOutput = { stdout: "", stderr: "" };

/** The command runs as typed; the user is told why, once. */
export function leaveAsTyped(why: string): HookOutput {
  const line = `lokt hook: ${
    why.replace(/\s+/g, " ").trim()
  }; the command runs as typed, unguarded`;
  return { stdout: fallbackJson(line) + "\n", stderr: line + "\n" };
}

async function decideFor(call: ShellCall, access: HookAccess): Promise<HookOutput> {
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
  // The common case: nothing matches, and nothing more is read or even loaded.
  if (firstMatch(rules, call.command) === undefined) return NOTHING;
  const { respond } = await import("./respond.ts");
  return respond(call, rules as Rule[], cwd, access);
}

/** Answers one hook input. Never throws. */
export async function answerHook(
  harness: Harness,
  raw: string,
  access: HookAccess,
): Promise<HookOutput> {
  try {
    const input = readHookInput(harness, raw);
    switch (input.kind) {
      case "other":
        return NOTHING;
      case "malformed":
        return leaveAsTyped(input.problem);
      case "shell":
        return await decideFor(input.call, access);
    }
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return leaveAsTyped(`internal error (${why}); please report it`);
  }
}
