/** `lokt prime`: instructions for an agent tool, naming this repository's scripts and locks. */

import { UsageError } from "../../errors.ts";
import { loadProjectConfig } from "../../config/project.ts";
import { readRules } from "../../hooks/rules.ts";
import { listAll } from "../../locks/inspect.ts";
import { lazy } from "../../lazy.ts";
import { configPath } from "../../root.ts";
import { surelyFiles } from "../../backends/select.ts";
import {
  detectScripts,
  fileReader,
  mcpSetup,
  type McpTool,
  PRIME_FILES,
  type PrimeFacts,
  type PrimeFormat,
  projectDir,
  renderPrime,
  rootFacts,
  type ServerCommand,
  suggestion,
} from "../../prime/mod.ts";
import { expectPositionals } from "../args.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";
import { RUN_ARGS } from "../../run_flags.ts";

/** Runs `lokt prime`. Read-only: it never creates the lock root. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("prime")!, args);
  if (args.flags.mcp !== undefined) return primeMcp(session, args.flags.mcp as McpTool, args);
  const format = (args.flags.format ?? "claude-md") as PrimeFormat;
  const project = projectDir(session.world.cwd());
  const ctx = session.readOnlyContext();
  // Invalid rules are left out: `lokt doctor` and `lokt rules` are where they are reported.
  const rules = readRules(loadProjectConfig(configPath(session.world.cwd()))).rules;
  const facts: PrimeFacts = {
    guarded: rules.map((r) =>
      r.kind === "guard"
        ? { pattern: r.pattern, lockName: r.name }
        : { pattern: r.pattern, ask: r.reason }
    ),
    scripts: detectScripts(fileReader(project)),
    ...rootFacts(listAll(ctx), ctx.now()),
  };
  const shared = await sharedBackend(session);
  if (shared !== undefined) {
    // The root's files are not where the locks are: none are listed (prime does not connect).
    Object.assign(facts, { shared, locks: [], freezes: [], unreadable: [] });
  }
  const text = renderPrime(facts, format);
  if (args.flags.json !== true) {
    session.out(text);
    return 0;
  }
  session.json({
    format,
    file: PRIME_FILES[format],
    project,
    root: ctx.layout.root,
    backend: shared === undefined
      ? { kind: "files", location: ctx.layout.root }
      : { kind: "postgres", location: shared.location, namespace: shared.namespace ?? null },
    scripts: facts.scripts.map((s) => ({
      source: s.source,
      script: s.script,
      lock_name: s.lockName,
      command: s.command,
      ttl: s.ttl,
      already_guarded: s.guarded,
      suggestion: suggestion(s),
    })),
    locks: facts.locks.map((l) => ({
      name: l.name,
      kind: l.kind,
      holder: l.holder,
      agent_id: l.agentId,
      command: l.command,
      age_sec: Math.round(l.ageMs) / 1000,
      state: l.state,
    })),
    freezes: facts.freezes.map((f) => ({
      name: f.name,
      holder: f.holder,
      remaining_sec: f.remainingMs === undefined ? 0 : Math.round(f.remainingMs) / 1000,
      reason: f.reason,
    })),
    unreadable: facts.unreadable,
    guarded: (facts.guarded ?? []).map((g) => ({
      match: g.pattern,
      lock_name: g.lockName ?? "",
      ask: g.ask ?? "",
    })),
    text,
  });
  return 0;
}

/**
 * The shared backend `LOKT_BACKEND` or lokt.jsonc chooses, without connecting to it; undefined
 * for files. A choice lokt cannot read is left to the commands that use it to report.
 */
async function sharedBackend(
  session: Session,
): Promise<{ location: string; namespace?: string } | undefined> {
  const env = (name: string) => session.world.env(name);
  const cwd = session.world.cwd();
  if (surelyFiles(env, cwd)) return undefined;
  const factory: typeof import("../../backends/factory.ts") = await import(
    lazy("../../backends/factory.ts")
  );
  let selected;
  try {
    selected = factory.selectedBackend({ env, cwd });
  } catch {
    return undefined;
  }
  if (selected.kind === "files") return undefined;
  let namespace: string | undefined;
  try {
    const choice = factory.chooseBackend({ env, cwd });
    if (choice.kind === "postgres") namespace = choice.namespace;
  } catch {
    // no namespace yet: the text says how to set one
  }
  return { location: selected.location ?? "", namespace };
}

/** `prime --mcp TOOL`: how TOOL starts this lokt's MCP server. */
function primeMcp(session: Session, tool: McpTool, args: ParsedArgs): number {
  if (args.flags.format !== undefined) {
    throw new UsageError("--mcp and --format exclude each other", "drop one of them");
  }
  const server = serverCommand();
  const text = mcpSetup(tool, server);
  if (args.flags.json === true) {
    session.json({ mcp: tool, command: server.command, args: server.args, text });
  } else {
    session.out(text);
  }
  return 0;
}

/**
 * The command line that starts this lokt's server: the binary itself when compiled, else
 * `deno run -A` with lokt's V8 flags (src/run_flags.ts) of the program this process runs (a
 * checkout's main.ts, or a bundle's main.js), or of the JSR package.
 */
function serverCommand(): ServerCommand {
  const exe = Deno.execPath();
  if (!/(^|\/)deno(\.exe)?$/.test(exe)) return { command: exe, args: ["mcp"] };
  const main = new URL(Deno.mainModule);
  return main.protocol === "file:"
    ? { command: "deno", args: [...RUN_ARGS, decodeURIComponent(main.pathname), "mcp"] }
    : { command: "deno", args: [...RUN_ARGS, "jsr:@lokt/cli", "mcp"] };
}
