/**
 * `lokt hook claude-code|codex`: a harness's PreToolUse hook (input on stdin, answer on stdout,
 * always exit 0); `lokt hook install|uninstall HARNESS`: add it to the project's settings.
 */

import { UsageError } from "../../errors.ts";
import { answerHook, type HookAccess } from "../../hooks/answer.ts";
import { type Harness, HARNESSES } from "../../hooks/input.ts";
import { readTextIfExists } from "../../config/project.ts";
import { expectPositionals } from "../args.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";
import { RUN_ARGS } from "../../run_flags.ts";

function isHarness(word: string | undefined): word is Harness {
  return (HARNESSES as readonly string[]).includes(word ?? "");
}

function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw error;
  }
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * The words that start this lokt again: a compiled binary, or Deno running the main module with
 * lokt's V8 flags (src/run_flags.ts).
 */
function self(): string[] {
  if (Deno.build.standalone) return [Deno.execPath()];
  const main = Deno.mainModule.startsWith("file:")
    ? decodeURIComponent(new URL(Deno.mainModule).pathname)
    : Deno.mainModule;
  return [Deno.execPath(), ...RUN_ARGS, main];
}

function access(session: Session): HookAccess {
  const world = session.world;
  return {
    env: (name) => world.env(name),
    cwd: () => world.cwd(),
    readText: readTextIfExists,
    listDir,
    isExecutable,
    ancestorArgvs: () => {
      const probe = world.probe();
      return probe.ancestors(world.pid).map((p) => probe.commandLine(p.pid) ?? []);
    },
    os: world.os,
    self,
  };
}

/** Runs `lokt hook`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const spec = findCommand("hook")!;
  const [action, harness] = expectPositionals(spec, args);
  if (isHarness(action)) {
    if (harness !== undefined || args.flags["dry-run"] === true) {
      throw new UsageError(
        `\`lokt hook ${action}\` takes nothing more: the harness runs it with the hook input on stdin`,
        `to set it up: lokt hook install ${action}`,
      );
    }
    const raw = await session.world.readStdin?.() ?? "";
    const out = await answerHook(action, raw, access(session));
    if (out.stdout !== "") session.out(out.stdout);
    if (out.stderr !== "") session.err(out.stderr);
    return 0;
  }
  if (action !== "install" && action !== "uninstall") {
    throw new UsageError(
      `unknown hook action "${action}"`,
      "use claude-code, codex, install or uninstall (see `lokt hook --help`)",
    );
  }
  if (!isHarness(harness)) {
    throw new UsageError(
      harness === undefined
        ? `\`lokt hook ${action}\` needs the harness`
        : `unknown harness "${harness}"`,
      `lokt hook ${action} claude-code, or lokt hook ${action} codex`,
    );
  }
  const { runInstall } = await import("./hook_install.ts");
  return runInstall(session, { action, harness, dryRun: args.flags["dry-run"] === true });
}
