/**
 * Adding lokt's PreToolUse hook to a harness's project settings, and taking it out again. Pure:
 * text in, text out. Both harnesses read the same shape:
 *
 * ```json
 * { "hooks": { "PreToolUse": [
 *   { "matcher": "Bash", "hooks": [{ "type": "command", "command": "lokt hook claude-code", "timeout": 10 }] }
 * ] } }
 * ```
 *
 * Installing appends that group unless an entry with lokt's command is already there; every other
 * key, hook and group stays as it was, in its order, and the file keeps its indentation.
 * Uninstalling removes entries with lokt's command, then the group, list and objects that this
 * leaves empty (and the file, when nothing is left in it).
 */

import { ConfigError } from "../errors.ts";
import { parseJsonc } from "../config/jsonc.ts";
import type { Harness } from "./input.ts";

/** The settings file of each harness, relative to the top of the repository. */
export const HOOK_FILES: Record<Harness, string> = {
  "claude-code": ".claude/settings.json",
  codex: ".codex/hooks.json",
};

/** How long a harness lets the hook run, in seconds (both count `timeout` in seconds). */
export const HOOK_TIMEOUT_S = 10;

/** The command the harness runs. */
export function hookCommand(harness: Harness): string {
  return `lokt hook ${harness}`;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseSettings(path: string, text: string | undefined): Json {
  if (text === undefined || text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      parseJsonc(text);
    } catch (error) {
      const position = (error as { position?: { line: number; column: number } }).position;
      throw new ConfigError(path, (error as Error).message.replace(/^\d+:\d+: /, ""), position);
    }
    throw new ConfigError(
      path,
      "has comments or trailing commas, which lokt would lose",
      undefined,
      "add the hook by hand (see docs/hooks.md)",
    );
  }
  if (!isObject(value)) throw new ConfigError(path, "the top level must be an object");
  return value;
}

/** The indentation of the file's first indented line: a tab or some spaces; 2 by default. */
function indentOf(text: string | undefined): string {
  const m = text?.match(/\n([ \t]+)\S/);
  return m ? m[1] : "  ";
}

function render(value: Json, previous: string | undefined): string {
  return JSON.stringify(value, null, indentOf(previous)) + "\n";
}

function preToolUse(settings: Json, path: string, create: boolean): unknown[] | undefined {
  if (settings.hooks === undefined) {
    if (!create) return undefined;
    settings.hooks = {};
  }
  if (!isObject(settings.hooks)) throw new ConfigError(path, '"hooks" is not an object');
  const hooks = settings.hooks;
  if (hooks.PreToolUse === undefined) {
    if (!create) return undefined;
    hooks.PreToolUse = [];
  }
  if (!Array.isArray(hooks.PreToolUse)) {
    throw new ConfigError(path, '"hooks.PreToolUse" is not a list');
  }
  return hooks.PreToolUse;
}

function isOurs(entry: unknown, harness: Harness): boolean {
  return isObject(entry) && entry.command === hookCommand(harness);
}

/** Whether the settings text already runs lokt's hook. */
export function hasHook(path: string, text: string | undefined, harness: Harness): boolean {
  const list = preToolUse(parseSettings(path, text), path, false) ?? [];
  return list.some((group) =>
    isObject(group) && Array.isArray(group.hooks) && group.hooks.some((h) => isOurs(h, harness))
  );
}

/** The settings text with lokt's hook added (the same text when it is already there). */
export function installHook(path: string, text: string | undefined, harness: Harness): string {
  if (hasHook(path, text, harness)) return text ?? "";
  const settings = parseSettings(path, text);
  preToolUse(settings, path, true)!.push({
    matcher: "Bash",
    hooks: [{ type: "command", command: hookCommand(harness), timeout: HOOK_TIMEOUT_S }],
  });
  return render(settings, text);
}

/**
 * The settings text without lokt's hook: the same text when it was not there, undefined when the
 * file would be left empty (`{}`).
 */
export function uninstallHook(
  path: string,
  text: string | undefined,
  harness: Harness,
): string | undefined {
  if (text === undefined || !hasHook(path, text, harness)) return text;
  const settings = parseSettings(path, text);
  const hooks = settings.hooks as Json;
  const list = hooks.PreToolUse as unknown[];
  const kept = list.flatMap((group) => {
    if (!isObject(group) || !Array.isArray(group.hooks)) return [group];
    const rest = group.hooks.filter((h) => !isOurs(h, harness));
    if (rest.length === group.hooks.length) return [group];
    return rest.length === 0 ? [] : [{ ...group, hooks: rest }];
  });
  if (kept.length > 0) hooks.PreToolUse = kept;
  else delete hooks.PreToolUse;
  if (Object.keys(hooks).length === 0) delete settings.hooks;
  return Object.keys(settings).length === 0 ? undefined : render(settings, text);
}
