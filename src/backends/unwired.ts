/**
 * Until the commands and the library run on the backend seam, they use the file backend only. A
 * shared backend chosen in `LOKT_BACKEND` or `lokt.jsonc` is therefore refused, never ignored:
 * locks taken in files on this machine while other machines use the database would let two
 * holders in.
 *
 * Cheap on the common path (no `LOKT_BACKEND`, no `backend` in `lokt.jsonc`): one environment
 * read and one read attempt of `lokt.jsonc`; the CLI loads the factory that parses a choice only
 * when there is one to parse.
 *
 * @module
 */

import { LoktError } from "../errors.ts";
import { statOrUndefined } from "../file_info.ts";
import { lazy } from "../lazy.ts";
import { CONFIG_FILE, configPath } from "../root.ts";
import type { selectedBackend } from "./factory.ts";

type Env = (name: string) => string | undefined;

/**
 * True when neither the environment nor `lokt.jsonc` can be choosing a backend but files.
 * `workTree`, when the caller knows it (root discovery found it), saves a second search for it.
 */
function surelyFiles(env: Env, cwd: string, workTree?: string): boolean {
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
 * the factory's {@link selectedBackend} (passed in, so that the CLI can load it only when needed).
 */
export function refuseSharedBackendWith(
  env: Env,
  cwd: string,
  select: typeof selectedBackend,
): void {
  if (surelyFiles(env, cwd)) return;
  const choice = select({ env, cwd });
  if (choice.kind === "files") return;
  throw new LoktError(
    "invalid_config",
    `${choice.source} chooses the PostgreSQL backend (${choice.location}), which this version ` +
      "of lokt cannot use yet: its commands and library work on the file backend only",
    {
      hint: "to use files on this machine, set LOKT_BACKEND=files or remove `backend` from " +
        "lokt.jsonc; docs/backends.md says what exists",
    },
  );
}

/**
 * The CLI's check: {@link refuseSharedBackendWith}, loading the factory only when needed;
 * `workTree` is the top of the work tree if root discovery found it.
 */
export async function refuseSharedBackend(
  env: Env,
  cwd: string,
  workTree?: string,
): Promise<void> {
  if (surelyFiles(env, cwd, workTree)) return;
  const factory: typeof import("./factory.ts") = await import(lazy("./factory.ts"));
  refuseSharedBackendWith(env, cwd, factory.selectedBackend);
}
