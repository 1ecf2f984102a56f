/** `lokt completions bash|zsh|fish`: print a shell completion script built from the command table. */

import { UsageError } from "../../errors.ts";
import { expectPositionals } from "../args.ts";
import { completionScript, type Shell, SHELLS } from "../completions.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { COMMANDS, findCommand } from "../table.ts";

/** Runs `lokt completions`. */
export function run(args: ParsedArgs, session: Session): number {
  const [shell] = expectPositionals(findCommand("completions")!, args);
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(
      `no completions for shell "${shell}"`,
      `choose one of ${SHELLS.join(", ")}: lokt completions bash`,
    );
  }
  session.out(completionScript(shell as Shell, COMMANDS));
  return 0;
}
