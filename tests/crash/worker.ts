/**
 * Runs one lock operation the CLI does not offer through the library, composed exactly as
 * the CLI composes it (real world, session, audit writer), so the crash suite can kill it at its
 * halt points too:
 *
 *   deno run -A tests/crash/worker.ts freeze NAME --ttl D [--reason TEXT]
 *   deno run -A tests/crash/worker.ts unfreeze NAME [--force]
 *   deno run -A tests/crash/worker.ts renew NAME LOCK_ID
 *
 * Exits 0 when the operation did what it was asked, 2 when it was refused, 64 on bad usage.
 */

import { parseDuration } from "../../src/duration.ts";
import { Session } from "../../src/cli/session.ts";
import { realWorld } from "../../src/cli/world.ts";
import { freeze, unfreeze } from "../../src/locks/freeze.ts";
import { renew } from "../../src/locks/renew.ts";
import { HALT_ENV, installHaltTarget, parseHaltTarget } from "../helpers/halting_main.ts";

/** The operations this worker runs. */
export const WORKER_OPERATIONS: readonly string[] = ["freeze", "unfreeze", "renew"];

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

async function main(args: string[]): Promise<number> {
  const [op, name] = args;
  const session = new Session(await realWorld());
  const ctx = session.lockContext();
  switch (op) {
    case "freeze": {
      const ttl = parseDuration(flag(args, "--ttl") ?? "");
      if (!("ms" in ttl)) return 64;
      const outcome = await freeze(ctx, {
        name,
        owner: session.identity().owner,
        host: ctx.actor.host,
        agentId: session.identity().agentId,
        ttlMs: ttl.ms,
        reason: flag(args, "--reason"),
      });
      return outcome.kind === "frozen" || outcome.kind === "extended" ? 0 : 2;
    }
    case "unfreeze": {
      const outcome = await unfreeze(ctx, {
        name,
        owner: session.identity().owner,
        force: args.includes("--force"),
      });
      return outcome.kind === "unfrozen" || outcome.kind === "removed-unreadable" ? 0 : 2;
    }
    case "renew": {
      const outcome = await renew(ctx, { name, lockId: args[2] });
      return outcome.kind === "renewed" ? 0 : 2;
    }
    default:
      return 64;
  }
}

if (import.meta.main) {
  const target = parseHaltTarget(Deno.env.get(HALT_ENV));
  if (target !== null) installHaltTarget(target);
  Deno.exit(await main(Deno.args));
}
