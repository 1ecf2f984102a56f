/** `lokt unlock NAME [--force | --break-stale]`, `lokt unlock --all`. */

import { UsageError } from "../../errors.ts";
import { describeHolder } from "../../locks/describe.ts";
import {
  NotFoundError,
  NotOwnerError,
  NotStaleError,
  UnreadableLockError,
} from "../../locks/errors.ts";
import { assertValidName } from "../../locks/name.ts";
import type { ReleaseMode } from "../../locks/release.ts";
import { expectPositionals } from "../args.ts";
import { recordJson, verdictText } from "../render.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt unlock`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("unlock")!, args);
  const { force, all, json } = args.flags;
  const breakStale = args.flags["break-stale"] === true;
  if (force && breakStale) throw new UsageError("--force and --break-stale exclude each other");
  if (all) {
    if (name !== undefined) {
      throw new UsageError("--all releases every lock you hold; drop NAME or --all");
    }
    if (force || breakStale) {
      throw new UsageError("--all cannot be combined with --force or --break-stale");
    }
    return unlockAll(session, json === true);
  }
  if (name === undefined) {
    throw new UsageError(
      "missing NAME",
      "usage: lokt unlock NAME [--force | --break-stale], or lokt unlock --all",
    );
  }
  assertValidName(name);

  const mode: ReleaseMode = force ? "force" : breakStale ? "break-stale" : "owner";
  const locks = await session.locks();
  const outcome = await locks.release({
    name,
    mode,
    claim: session.claim(),
    enclosingLockId: session.enclosingLockId(),
  });
  const now = session.world.now();
  let text: string;
  switch (outcome.kind) {
    case "released":
      text = outcome.lock.slots === undefined
        ? `released lock "${name}"`
        : `released slot ${outcome.lock.slot} of ${outcome.lock.slots} of lock "${name}"`;
      break;
    case "broken":
      text = (outcome.count ?? 0) > 1
        ? `${outcome.how === "force" ? "broke" : "removed"} ${outcome.count} ${
          outcome.how === "force" ? "slot holders" : "stale slot holders"
        } of lock "${name}", the first ${describeHolder(outcome.lock)}${
          outcome.how === "force" ? " (--force)" : ""
        }`
        : outcome.how === "force"
        ? `broke lock "${name}" held by ${describeHolder(outcome.lock)} (--force)`
        : `removed stale lock "${name}" of ${describeHolder(outcome.lock)} (${
          verdictText(outcome.verdict)
        })`;
      break;
    case "removed-unreadable":
      text = `removed the unreadable lock file of "${name}" (${outcome.problem})`;
      break;
    case "nested":
      text =
        `lock "${name}" belongs to the enclosing guard; it is released when the guarded command ends`;
      break;
    case "not-found":
      throw new NotFoundError(name);
    case "not-owner": {
      const actor = session.actor();
      throw new NotOwnerError(
        name,
        outcome.lock,
        `${actor.owner}${actor.agentId ? ` (agent ${actor.agentId})` : ""}`,
      );
    }
    case "not-stale":
      throw new NotStaleError(name, outcome.lock, outcome.verdict, now);
    case "unreadable":
      throw new UnreadableLockError(name, outcome.state);
    case "gone":
      throw new NotFoundError(name);
  }
  if (json) {
    const lock = "lock" in outcome ? recordJson(outcome.lock, undefined, now) : null;
    const count = outcome.kind === "broken" ? outcome.count ?? 1 : lock === null ? 0 : 1;
    session.json({ status: outcome.kind, name, lock, count });
  } else {
    session.out(`${text}\n`);
  }
  return 0;
}

async function unlockAll(session: Session, json: boolean): Promise<number> {
  const locks = await session.locks();
  const released = await locks.releaseAll(session.claim());
  if (json) {
    session.json({ released: released.map((l) => l.name), count: released.length });
  } else if (released.length === 0) {
    session.out("you hold no plain locks\n");
  } else {
    session.out(`released ${released.length} lock(s): ${released.map((l) => l.name).join(", ")}\n`);
  }
  return 0;
}
