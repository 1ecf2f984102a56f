/** `lokt exists NAME`: exit 0 when a live lock holds NAME, 3 otherwise; prints nothing. */

import { inspect, isHeld } from "../../locks/inspect.ts";
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
  const entry = inspect(session.readOnlyContext(), name, "lock");
  // A lock file that cannot be read at all is an error: neither "held" nor "free" would be true.
  if (entry.state.kind === "unreadable") throw entry.state.error;
  return isHeld(entry) ? EXIT.ok : EXIT.notFound;
}
