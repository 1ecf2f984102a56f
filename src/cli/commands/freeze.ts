/** `lokt freeze NAME --ttl D [--reason TEXT]`: refuse every new acquisition of NAME for a while. */

import { UsageError } from "../../errors.ts";
import { formatDuration } from "../../locks/describe.ts";
import { AlreadyFrozenError, UnreadableFreezeError } from "../../locks/errors.ts";
import type { FreezeOutcome } from "../../locks/freeze.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import { assertValidName } from "../../locks/name.ts";
import { formatIso } from "../../time.ts";
import { expectPositionals } from "../args.ts";
import { recordJson } from "../render.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt freeze`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("freeze")!, args);
  assertValidName(name);
  const { ttl, reason, json } = args.flags;
  if (ttl === undefined) {
    throw new UsageError(
      "freeze needs --ttl: a freeze always ends on its own",
      `e.g. lokt freeze ${name} --ttl 15m`,
    );
  }
  const locks = await session.locks();
  const id = session.identity();
  const outcome = await locks.freeze({
    name,
    owner: id.owner,
    host: session.actor().host,
    agentId: id.agentId,
    ttlMs: ttl as number,
    reason: typeof reason === "string" && reason !== "" ? reason : undefined,
  });
  const now = session.world.now();
  const structured = freezeJson(name, outcome, now);
  const record = structured.record;
  if (json) {
    session.json(structured.json);
    return 0;
  }
  const until = record.expiresMs === undefined ? "" : ` (until ${formatIso(record.expiresMs)})`;
  const because = record.reason ? `: ${record.reason}` : "";
  session.out(
    outcome.kind === "frozen"
      ? `frozen "${name}" for ${formatDuration(ttl as number)}${until}${because}\n`
      : `extended the freeze of "${name}": ${
        formatDuration(ttl as number)
      } from now${until}${because}\n`,
  );
  return 0;
}

/**
 * What `freeze --json` prints for a freeze that took (the MCP server's `freeze` tool answers the
 * same), and its record; throws what refused it.
 */
export function freezeJson(
  name: string,
  outcome: FreezeOutcome,
  now: number,
): { record: LockRecord; json: Record<string, unknown> } {
  switch (outcome.kind) {
    case "held":
      throw new AlreadyFrozenError(name, outcome.freeze, now);
    case "unreadable":
      throw new UnreadableFreezeError(name, outcome.state);
  }
  const record = outcome.freeze;
  return {
    record,
    json: { status: outcome.kind, name, freeze: recordJson(record, undefined, now) },
  };
}
