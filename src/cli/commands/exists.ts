/**
 * `lokt exists NAME`: exit 0 when a live lock holds NAME (on a name with slots: at least one
 * slot), 3 otherwise; prints nothing.
 */

import { inspectHolders, isHeld } from "../../locks/inspect.ts";
import { assertValidName } from "../../locks/name.ts";
import { expectPositionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt exists`. */
export function run(args: ParsedArgs, session: Session): number {
  const [name] = expectPositionals(findCommand("exists")!, args);
  assertValidName(name);
  const entries = inspectHolders(session.readOnlyContext(), name);
  // A lock file that cannot be read at all is an error: neither "held" nor "free" would be true.
  for (const entry of entries) if (entry.state.kind === "unreadable") throw entry.state.error;
  return entries.some(isHeld) ? EXIT.ok : EXIT.notFound;
}
