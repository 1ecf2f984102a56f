/**
 * The cheap front of the backends' factory: {@link openLocks} gives a command the lock
 * operations of the chosen backend, and {@link refuseSharedBackendWith} stops a surface that works
 * on files only (the library's synchronous `status()` and `why()`) when a shared backend is chosen:
 * reading files on this machine while other machines use the database would mislead.
 *
 * Cheap on the common path (no `LOKT_BACKEND`, no `backend` in `lokt.jsonc`): one environment
 * read and one `stat` of `lokt.jsonc`; the factory that parses a choice, and a shared backend's
 * client, load only when there is a choice to parse.
 *
 * @module
 */

import type { Actor } from "../audit/event.ts";
import { LoktError } from "../errors.ts";
import type { ProcessProbe } from "../identity/process.ts";
import type { LockContext } from "../locks/context.ts";
import { FilesLocks } from "./files/locks.ts";
import type { Locks } from "./locks.ts";
import { statOrUndefined } from "../file_info.ts";
import { lazy } from "../lazy.ts";
import { CONFIG_FILE, configPath } from "../root.ts";
import type { selectedBackend } from "./factory.ts";

type Env = (name: string) => string | undefined;

/**
 * True when neither the environment nor `lokt.jsonc` can be choosing a backend but files.
 * `workTree`, when the caller knows it (root discovery found it), saves a second search for it.
 */
export function surelyFiles(env: Env, cwd: string, workTree?: string): boolean {
  const fromEnv = env("LOKT_BACKEND")?.trim();
  if (fromEnv === "files") return true;
  if (fromEnv) return false;
  const path = workTree === undefined ? configPath(cwd) : `${workTree}/${CONFIG_FILE}`;
  // A stat first: root discovery has warmed it up, and most repositories have no lokt.jsonc.
  if (statOrUndefined(path) === undefined) return true;
  try {
    return !Deno.readTextFileSync(path).includes("backend");
  } catch {
    return true; // no lokt.jsonc (or none readable: the commands that read it say so)
  }
}

/**
 * Throws when the environment or `lokt.jsonc` chooses a backend other than files; `select` is
 * the factory's {@link selectedBackend} (passed in, so that the CLI can load it only when needed);
 * `surface` names what works on files only, in the message.
 */
export function refuseSharedBackendWith(
  env: Env,
  cwd: string,
  select: typeof selectedBackend,
  surface = "this command",
): void {
  if (surelyFiles(env, cwd)) return;
  const choice = select({ env, cwd });
  if (choice.kind === "files") return;
  throw new LoktError(
    "invalid_config",
    `${choice.source} chooses the PostgreSQL backend (${choice.location}), which this version ` +
      `of lokt cannot use yet for ${surface} (files only)`,
    {
      hint: "`lokt status --json` and `lokt why NAME --json` read the shared backend; or set " +
        "LOKT_BACKEND=files to use files on this machine (docs/backends.md)",
    },
  );
}

/** What opening a command's lock operations needs. */
export interface OpenLocksInputs {
  env: Env;
  cwd: string;
  /** The top of the work tree, when root discovery found one (where `lokt.jsonc` is). */
  workTree?: string;
  /** The lock root, for the file backend. */
  root: string;
  /** The file engine's lock context, built on first use. */
  ctx: () => LockContext;
  /** The file engine's read-only lock context (no audit, no identity), built on first use. */
  readCtx: () => LockContext;
  probe: ProcessProbe;
  actor: () => Actor;
  warn: (message: string) => void;
}

/**
 * The lock operations of the backend the environment or `lokt.jsonc` chooses. Files unless a
 * choice says otherwise; a shared backend is opened (connected) here, and throws what opening
 * throws (an unreachable database: exit 1 within the connect timeout).
 */
export async function openLocks(inputs: OpenLocksInputs): Promise<Locks> {
  const { env, cwd } = inputs;
  const { ctx, readCtx } = inputs;
  if (surelyFiles(env, cwd, inputs.workTree)) {
    const source = env("LOKT_BACKEND")?.trim() === "files" ? "LOKT_BACKEND" : "default";
    return new FilesLocks(inputs.root, { ctx, readCtx, source });
  }
  const factory: typeof import("./factory.ts") = await import(lazy("./factory.ts"));
  const choice = factory.chooseBackend({ env, cwd });
  if (choice.kind === "files") {
    return new FilesLocks(inputs.root, { ctx, readCtx, source: choice.info.source });
  }
  const backend = await factory.openBackend(choice, {
    probe: inputs.probe,
    actor: inputs.actor(),
    env,
    warn: inputs.warn,
  });
  const { SharedLocks }: typeof import("./shared/locks.ts") = await import(
    lazy("./shared/locks.ts")
  );
  return new SharedLocks(backend, { probe: inputs.probe, actor: inputs.actor() });
}
