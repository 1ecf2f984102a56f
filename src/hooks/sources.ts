/**
 * Where each harness keeps the permission rules lokt must respect, read through injected file
 * access. Claude Code: managed settings, `~/.claude/settings.json` (or `$CLAUDE_CONFIG_DIR`),
 * the project's `.claude/settings.json` and `.claude/settings.local.json`, and the running
 * `claude`'s own `--allowedTools` / `--disallowedTools` / `--settings` flags. Codex: the
 * `rules/*.rules` files of its system, user (`$CODEX_HOME`, else `~/.codex`) and project layers.
 */

import type { ClaudeSettingsSource } from "./claude_rules.ts";
import { rulesFromArgv } from "./claude_rules.ts";
import type { CodexRulesSource } from "./codex_rules.ts";

/** File and process access the readers need. */
export interface SourceAccess {
  env(name: string): string | undefined;
  /** A file's text; undefined when it does not exist; throws when it cannot be read. */
  readText(path: string): string | undefined;
  /** Entry names of a directory; none when it does not exist. */
  listDir(path: string): string[];
  /** Command lines of this process's ancestors, nearest first. */
  ancestorArgvs(): string[][];
  os: string;
}

const MANAGED: Record<string, string> = {
  linux: "/etc/claude-code/managed-settings.json",
  darwin: "/Library/Application Support/ClaudeCode/managed-settings.json",
};

function home(access: SourceAccess): string | undefined {
  return access.env("HOME") ?? access.env("USERPROFILE");
}

function jsonSource(
  name: string,
  kind: "managed" | "user" | "project" | "local" | "flags",
  text: () => string | undefined,
): ClaudeSettingsSource | undefined {
  let raw: string | undefined;
  try {
    raw = text();
  } catch (error) {
    return {
      name,
      kind: "unreadable",
      problem: error instanceof Error ? error.message : String(error),
    };
  }
  if (raw === undefined) return undefined;
  try {
    return { name, kind, settings: JSON.parse(raw) };
  } catch {
    return { name, kind: "unreadable", problem: "not valid JSON" };
  }
}

/** The argv of the `claude` process this hook runs under, if it is among the ancestors. */
function claudeArgv(access: SourceAccess): string[] | undefined {
  return access.ancestorArgvs().slice(0, 8).find((argv) =>
    argv.some((w, i) => i < 3 && /(^|\/)claude(\.exe)?$|@anthropic-ai\/claude-code/.test(w))
  );
}

/** Every settings source Claude Code reads for a project at `project`. */
export function claudeSources(project: string, access: SourceAccess): ClaudeSettingsSource[] {
  const sources: (ClaudeSettingsSource | undefined)[] = [];
  const managed = MANAGED[access.os];
  if (managed) sources.push(jsonSource(managed, "managed", () => access.readText(managed)));
  const configDir = access.env("CLAUDE_CONFIG_DIR") ??
    (home(access) === undefined ? undefined : `${home(access)}/.claude`);
  if (configDir) {
    const path = `${configDir}/settings.json`;
    sources.push(jsonSource(path, "user", () => access.readText(path)));
  }
  for (
    const [file, kind] of [["settings.json", "project"], ["settings.local.json", "local"]] as const
  ) {
    const path = `${project}/.claude/${file}`;
    sources.push(jsonSource(path, kind, () => access.readText(path)));
  }
  const argv = claudeArgv(access);
  if (argv !== undefined) {
    const flags = rulesFromArgv(argv);
    sources.push({
      name: "claude's command line",
      kind: "flags",
      settings: { permissions: flags },
    });
    argv.forEach((word, i) => {
      const value = word === "--settings"
        ? argv[i + 1]
        : word.startsWith("--settings=")
        ? word.slice(11)
        : undefined;
      if (value === undefined) return;
      sources.push(
        value.trim().startsWith("{")
          ? jsonSource("claude --settings", "flags", () => value)
          : jsonSource(value, "flags", () => access.readText(value)),
      );
    });
  }
  return sources.filter((s): s is ClaudeSettingsSource => s !== undefined);
}

/** Every rules file Codex reads for a project at `project`. */
export function codexSources(project: string, access: SourceAccess): CodexRulesSource[] {
  const dirs = ["/etc/codex/rules"];
  const codexHome = access.env("CODEX_HOME") ??
    (home(access) === undefined ? undefined : `${home(access)}/.codex`);
  if (codexHome) dirs.push(`${codexHome}/rules`);
  dirs.push(`${project}/.codex/rules`);
  const sources: CodexRulesSource[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = access.listDir(dir).filter((n) => n.endsWith(".rules")).sort();
    } catch (error) {
      sources.push({ name: dir, problem: error instanceof Error ? error.message : String(error) });
      continue;
    }
    for (const name of names) {
      const path = `${dir}/${name}`;
      try {
        const text = access.readText(path);
        if (text !== undefined) sources.push({ name: path, text });
      } catch (error) {
        sources.push({
          name: path,
          problem: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  return sources;
}
