/**
 * `lokt exists NAME`: exit 0 when a live lock holds NAME (on a name with slots: at least one
 * slot), 3 otherwise; prints nothing.
 */

import { assertValidName } from "../../locks/name.ts";
import { expectPositionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt exists`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("exists")!, args);
  assertValidName(name);
  const locks = await session.locks();
  return await locks.isHeld(name) ? EXIT.ok : EXIT.notFound;
}
