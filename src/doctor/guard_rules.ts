/** Doctor's check of `lokt.jsonc`: readable, its guard rules valid, and a harness hook to run them. */

import type { ProjectConfig } from "../config/project.ts";
import { unknownKeys } from "../config/project.ts";
import { problemLine, readRules } from "../hooks/rules.ts";
import { type Check, check, listNames } from "./check.ts";

/** Which harnesses' project settings run lokt's hook (undefined: could not tell). */
export type HookPresence = Record<"claude-code" | "codex", boolean | undefined>;

/** Judges the configuration file and its rules. */
export function guardRulesCheck(config: ProjectConfig, hooks: HookPresence): Check {
  const id = "guard_rules";
  if (config.kind === "absent") {
    return check(id, "ok", `no ${config.path}: no command is guarded automatically`, {
      details: { path: config.path, rules: 0 },
    });
  }
  if (config.kind === "invalid") {
    return check(id, "fail", config.error.message, {
      hint: "fix lokt.jsonc; until then the harness hooks guard nothing",
      details: { path: config.path },
    });
  }
  const { rules, problems } = readRules(config);
  const lines = problems.map((p) => problemLine(config.path, p));
  if (problems.length > 0) {
    return check(id, "fail", `${problems.length} invalid rule problem(s): ${lines[0]}`, {
      hint: "fix them in lokt.jsonc; until then the harness hooks guard nothing (`lokt rules` " +
        "lists them all)",
      details: { path: config.path, rules: rules.length, problems: lines },
    });
  }
  const details = { path: config.path, rules: rules.length, hooks };
  const unknown = unknownKeys(config.data);
  if (unknown.length > 0) {
    return check(id, "warn", `lokt.jsonc has keys lokt does not read: ${listNames(unknown)}`, {
      hint: "remove them, or check their spelling",
      details: { ...details, unknown_keys: unknown },
    });
  }
  if (rules.length === 0) return check(id, "ok", "lokt.jsonc has no guard rules", { details });
  const installed = Object.entries(hooks).filter(([, on]) => on === true).map(([h]) => h);
  if (installed.length === 0) {
    return check(id, "warn", `${rules.length} guard rule(s), but no harness runs lokt's hook`, {
      hint: "lokt hook install claude-code (or codex); see docs/hooks.md",
      details,
    });
  }
  return check(
    id,
    "ok",
    `${rules.length} guard rule(s), run by the hook of ${installed.join(" and ")}`,
    {
      details,
    },
  );
}
