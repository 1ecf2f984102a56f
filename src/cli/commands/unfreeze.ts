/** `lokt unfreeze NAME [--force]`: lift a freeze (its owner may; anyone may with --force). */

import { describeHolder } from "../../locks/describe.ts";
import { NotFoundError, NotOwnerError, UnreadableFreezeError } from "../../locks/errors.ts";
import { unfreeze } from "../../locks/freeze.ts";
import { assertValidName } from "../../locks/name.ts";
import { isExpired } from "../../locks/stale.ts";
import { expectPositionals } from "../args.ts";
import { recordJson } from "../render.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt unfreeze`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("unfreeze")!, args);
  assertValidName(name);
  const force = args.flags.force === true;
  const ctx = session.lockContext();
  const outcome = await unfreeze(ctx, { name, owner: session.identity().owner, force });
  const now = ctx.now();
  let status: string;
  let text: string;
  switch (outcome.kind) {
    case "not-found":
      throw new NotFoundError(name, "freeze");
    case "not-owner":
      throw new NotOwnerError(name, outcome.freeze, ctx.actor.owner);
    case "unreadable":
      throw new UnreadableFreezeError(name, outcome.state);
    case "removed-unreadable":
      status = "removed-unreadable";
      text = `removed the unreadable freeze file of "${name}" (${outcome.state.problem})`;
      break;
    case "unfrozen":
      if (isExpired(outcome.freeze, now)) {
        status = "expired";
        text = `the freeze of "${name}" had already expired; removed it`;
      } else if (outcome.forced) {
        status = "force-unfrozen";
        text = `unfroze "${name}", frozen by ${describeHolder(outcome.freeze)} (--force)`;
      } else {
        status = "unfrozen";
        text = `unfroze "${name}"`;
      }
      break;
  }
  if (args.flags.json) {
    const freeze = "freeze" in outcome ? recordJson(outcome.freeze, undefined, now) : null;
    session.json({ status, name, freeze });
  } else {
    session.out(`${text}\n`);
  }
  return 0;
}
