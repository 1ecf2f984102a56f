/** `lokt hook install|uninstall HARNESS [--dry-run]`: the hook entry in the project's settings. */

import { ConfigError } from "../../errors.ts";
import {
  type Harness,
  HOOK_FILES,
  hookCommand,
  installHook,
  unifiedDiff,
  uninstallHook,
} from "../../hooks/mod.ts";
import { readTextIfExists } from "../../config/project.ts";
import { dirname } from "../../paths.ts";
import { workTreeTop } from "../../root.ts";
import type { Session } from "../session.ts";

/** What to do. */
export interface InstallOptions {
  action: "install" | "uninstall";
  harness: Harness;
  dryRun: boolean;
}

/** Writes `text` through a temporary file and a rename, so the harness never reads half a file. */
function writeAtomically(path: string, text: string): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.lokt-${Deno.pid}.tmp`;
  let mode: number | undefined;
  try {
    mode = Deno.statSync(path).mode ?? undefined;
  } catch {
    mode = undefined;
  }
  Deno.writeTextFileSync(tmp, text, mode === undefined ? {} : { mode: mode & 0o777 });
  Deno.renameSync(tmp, path);
}

/** Runs the install or uninstall. */
export function runInstall(session: Session, options: InstallOptions): number {
  const project = workTreeTop(session.world.cwd());
  const relative = HOOK_FILES[options.harness];
  const path = `${project}/${relative}`;
  let before: string | undefined;
  try {
    before = readTextIfExists(path);
  } catch (error) {
    throw new ConfigError(path, `cannot be read: ${(error as Error).message}`);
  }
  const after = options.action === "install"
    ? installHook(path, before, options.harness)
    : uninstallHook(path, before, options.harness);
  const diff = unifiedDiff(relative, before ?? "", after ?? "");
  const what = `\`${hookCommand(options.harness)}\``;
  if (diff === "") {
    session.out(
      options.action === "install"
        ? `${relative} already runs ${what}: nothing to do\n`
        : `${relative} does not run ${what}: nothing to do\n`,
    );
    return 0;
  }
  if (options.dryRun) {
    session.out(diff);
    return 0;
  }
  if (after === undefined) Deno.removeSync(path);
  else writeAtomically(path, after);
  session.out(
    options.action === "install"
      ? `${relative}: added ${what} as a PreToolUse hook for Bash\n`
      : after === undefined
      ? `${relative}: removed ${what}; nothing else was in it, so the file is gone\n`
      : `${relative}: removed ${what}\n`,
  );
  if (options.action === "install" && options.harness === "codex") {
    session.out(
      "Codex runs a new project hook only after you review and trust it: open /hooks in Codex.\n",
    );
  }
  return 0;
}
