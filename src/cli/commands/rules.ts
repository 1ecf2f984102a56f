/** `lokt rules [COMMAND]`: the `guard` rules of `lokt.jsonc`, or what one command line would get. */

import { loadProjectConfig } from "../../config/project.ts";
import {
  childShell,
  firstMatch,
  problemLine,
  readRules,
  rewriteCommand,
  type Rule,
  runsLokt,
  waitBudgetMs,
} from "../../hooks/mod.ts";
import { formatDuration } from "../../locks/describe.ts";
import { configPath } from "../../root.ts";
import { EXIT } from "../exit.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";

/** Claude Code's default command timeout: what the example rewrite is fitted to. */
const EXAMPLE_HARNESS_MS = 120_000;

function ruleJson(rule: Rule): Record<string, unknown> {
  return rule.kind === "ask"
    ? {
      index: rule.index,
      kind: "ask",
      match: rule.pattern,
      ask: rule.reason,
      line: rule.position?.line ?? 0,
    }
    : {
      index: rule.index,
      kind: "guard",
      match: rule.pattern,
      name: rule.name,
      ttl_sec: rule.ttlMs === undefined ? 0 : rule.ttlMs / 1000,
      timeout_sec: rule.timeoutMs === undefined ? 0 : rule.timeoutMs / 1000,
      line: rule.position?.line ?? 0,
    };
}

function ruleText(rule: Rule): string {
  const head = `  [${rule.index}] /${rule.pattern}/`;
  if (rule.kind === "ask") return `${head}\n      ask the user first: ${rule.reason}\n`;
  const extras = [
    rule.ttlMs === undefined ? undefined : `ttl ${formatDuration(rule.ttlMs)}`,
    rule.timeoutMs === undefined ? undefined : `wait at most ${formatDuration(rule.timeoutMs)}`,
  ].filter((x) => x !== undefined);
  return `${head}\n      run under lock "${rule.name}"${
    extras.length ? ` (${extras.join(", ")})` : ""
  }\n`;
}

/** Runs `lokt rules`. */
export function run(args: ParsedArgs, session: Session): number {
  const command = args.command !== undefined ? args.command.join(" ") : args.positionals.join(" ");
  const config = loadProjectConfig(configPath(session.world.cwd()));
  if (config.kind === "invalid") throw config.error;
  const { rules, problems } = readRules(config);
  const json = args.flags.json === true;
  const problemLines = problems.map((p) => problemLine(config.path, p));
  const code = problems.length > 0 ? EXIT.error : EXIT.ok;

  if (command === "") {
    if (json) {
      session.json({
        file: config.path,
        exists: config.kind === "loaded",
        rules: rules.map(ruleJson),
        problems: problemLines,
      });
      return code;
    }
    if (config.kind === "absent") {
      session.out(`no ${config.path}: no command is guarded automatically (see docs/hooks.md)\n`);
      return code;
    }
    session.out(`${config.path}: ${rules.length} rule(s), the first match wins\n`);
    for (const rule of rules) session.out(ruleText(rule));
    for (const line of problemLines) session.err(`error: ${line}\n`);
    return code;
  }

  const rule = firstMatch(rules, command);
  const outcome = rule === undefined
    ? { kind: "none" as const }
    : rule.kind === "ask"
    ? { kind: "ask" as const, rule }
    : runsLokt(command)
    ? { kind: "runs-lokt" as const, rule }
    : {
      kind: "guard" as const,
      rule,
      rewritten: rewriteCommand({
        command,
        rule,
        lokt: ["lokt"],
        shell: childShell(session.world.env("SHELL")),
        waitMs: waitBudgetMs(rule, EXAMPLE_HARNESS_MS),
      }),
    };
  if (json) {
    session.json({
      file: config.path,
      command,
      outcome: outcome.kind,
      rule: outcome.kind === "none" ? null : ruleJson(outcome.rule),
      rewritten: outcome.kind === "guard" ? outcome.rewritten : "",
      problems: problemLines,
    });
    return code;
  }
  switch (outcome.kind) {
    case "none":
      session.out("no rule matches: the command runs as typed\n");
      break;
    case "ask":
      session.out(
        `rule [${outcome.rule.index}] matches: the user is asked first (${outcome.rule.reason})\n`,
      );
      break;
    case "runs-lokt":
      session.out(
        `rule [${outcome.rule.index}] matches, but the command already runs lokt: it runs as typed\n`,
      );
      break;
    case "guard":
      session.out(
        `rule [${outcome.rule.index}] matches: this would run under lock "${outcome.rule.name}", as\n` +
          `  ${outcome.rewritten}\n` +
          "(with the agent's session as LOKT_AGENT_ID; the wait fits the harness's timeout)\n",
      );
      break;
  }
  for (const line of problemLines) session.err(`error: ${line}\n`);
  return code;
}
