/**
 * `lokt doctor`: are this backend and machine fit for lokt? Read-only; never creates the root or
 * the database's schema.
 */

import {
  chooseBackend,
  CONNECT_TIMEOUT_MS,
  inspectChosenDatabase,
} from "../../backends/factory.ts";
import { loadProjectConfig, readTextIfExists } from "../../config/project.ts";
import {
  backendDetails,
  type Check,
  type ChosenBackend,
  type DoctorReport,
  type HookPresence,
  runDoctor,
} from "../../doctor/mod.ts";
import { LoktError } from "../../errors.ts";
import { HARNESSES, hasHook, HOOK_FILES } from "../../hooks/mod.ts";
import { configPath, workTreeTop } from "../../root.ts";
import { expectPositionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import { auditLimits } from "../../audit/writer.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt doctor`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("doctor")!, args);
  const world = session.world;
  const id = session.identity();
  const env = (name: string) => world.env(name);
  const monotonic = () => performance.now();
  const report = await runDoctor({
    backend: chosenBackend(env, world.cwd()),
    inspectDatabase: (choice) =>
      inspectChosenDatabase(choice, {
        env,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        now: () => world.now(),
        monotonic,
      }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    root: session.root(),
    ctx: session.readOnlyContext(),
    identity: {
      owner: id.owner,
      ownerSource: id.ownerSource,
      agentId: id.agentId,
      agentSource: id.agentSource,
      processScoped: id.processScoped,
      anchorPid: id.anchor?.pid,
    },
    os: world.os,
    pid: world.pid,
    uid: Deno.uid(),
    auditMaxBytes: auditLimits((name) => world.env(name)).maxBytes,
    monotonic,
    timeOrigin: performance.timeOrigin,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    readText: (path) => {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        return undefined;
      }
    },
    exitedPid,
    projectConfig: loadProjectConfig(configPath(world.cwd())),
    hooks: hookPresence(workTreeTop(world.cwd())),
  });
  if (args.flags.json) session.json(reportJson(report));
  else session.out(reportText(report));
  return report.ok ? EXIT.ok : EXIT.error;
}

/** The backend the environment or `lokt.jsonc` chooses; a bad choice is the backend check's. */
function chosenBackend(env: (name: string) => string | undefined, cwd: string): ChosenBackend {
  try {
    return chooseBackend({ env, cwd });
  } catch (error) {
    if (error instanceof LoktError) return { kind: "invalid", error };
    throw error;
  }
}

/** Whether each harness's project settings run lokt's hook; undefined where unreadable. */
function hookPresence(project: string): HookPresence {
  const presence: HookPresence = { "claude-code": false, codex: false };
  for (const harness of HARNESSES) {
    const path = `${project}/${HOOK_FILES[harness]}`;
    try {
      presence[harness] = hasHook(path, readTextIfExists(path), harness);
    } catch {
      presence[harness] = undefined;
    }
  }
  return presence;
}

/** A process that has certainly exited: lokt's own executable, asked for its version. */
async function exitedPid(): Promise<number | undefined> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await child.status;
    return child.pid;
  } catch {
    return undefined;
  }
}

function reportJson(report: DoctorReport): Record<string, unknown> {
  return {
    ok: report.ok,
    backend: report.backend === undefined ? null : backendDetails(report.backend),
    root: {
      path: report.root.path,
      method: report.root.method,
      detail: report.root.detail,
      exists: report.root.exists,
    },
    checks: report.checks.map((c) => ({
      id: c.id,
      status: c.status,
      message: c.message,
      hint: c.hint,
      details: c.details,
    })),
    summary: report.counts,
  };
}

function checkText(c: Check): string {
  const head = `${c.status.padEnd(5)} ${c.id.padEnd(14)} ${c.message}\n`;
  return c.hint && c.status !== "ok" ? `${head}${" ".repeat(21)}fix: ${c.hint}\n` : head;
}

function reportText(report: DoctorReport): string {
  const { ok, warn, fail } = report.counts;
  const head = report.backend?.kind === "postgres"
    ? `PostgreSQL ${report.backend.location}, namespace ${report.backend.namespace}`
    : `root ${report.root.path}`;
  return `lokt doctor: ${head}\n\n` +
    report.checks.map(checkText).join("") +
    `\n${report.checks.length} checks: ${ok} ok, ${warn} warning(s), ${fail} failure(s)\n`;
}
