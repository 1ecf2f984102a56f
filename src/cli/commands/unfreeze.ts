/** `lokt unfreeze NAME [--force]`: lift a freeze (its owner may; anyone may with --force). */

import { describeHolder } from "../../locks/describe.ts";
import { NotFoundError, NotOwnerError, UnreadableFreezeError } from "../../locks/errors.ts";
import type { UnfreezeOutcome } from "../../locks/freeze.ts";
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
  const locks = await session.locks();
  const owner = session.identity().owner;
  const outcome = await locks.unfreeze({ name, owner, force });
  const { structured, text } = unfreezeAnswer(
    { now: () => session.world.now(), actor: { owner } },
    name,
    outcome,
    "--force",
  );
  if (args.flags.json) {
    session.json(structured);
  } else {
    session.out(`${text}\n`);
  }
  return 0;
}

/**
 * What an unfreeze did, as `unfreeze --json` prints it and as one line of text; throws what
 * refused it. `forced` says how a forced unfreeze is shown (`--force`, or the reason given).
 * The MCP server's `unfreeze` tool answers the same.
 */
export function unfreezeAnswer(
  ctx: { now: () => number; actor: { owner: string } },
  name: string,
  outcome: UnfreezeOutcome,
  forced: string,
): { structured: Record<string, unknown>; text: string } {
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
        text = `unfroze "${name}", frozen by ${describeHolder(outcome.freeze)} (${forced})`;
      } else {
        status = "unfrozen";
        text = `unfroze "${name}"`;
      }
      break;
  }
  const freeze = "freeze" in outcome ? recordJson(outcome.freeze, undefined, now) : null;
  return { structured: { status, name, freeze }, text };
}
