/** `lokt guard NAME -- CMD ARGS...`: run a command while holding a lock, then release it. */

import { LoktError, UsageError } from "../../errors.ts";
import { realSignals } from "../../guard/signals.ts";
import { prepareSpawn, realSpawn } from "../../guard/spawn.ts";
import { type OnLost, superviseGuard } from "../../guard/supervise.ts";
import { assertValidName } from "../../locks/name.ts";
import { expectPositionals, slotsFlag } from "../args.ts";
import { EXIT, exitCodeFor, exitCodeForSignal } from "../exit.ts";
import { lazy } from "../../lazy.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";
import { acquireOrWait } from "../waiting.ts";

/** Runs `lokt guard`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  const [name] = expectPositionals(findCommand("guard")!, args);
  assertValidName(name);
  const command = args.command ?? [];
  if (command.length === 0) {
    throw new UsageError(
      "missing the command to run",
      `put it after \`--\`: lokt guard ${name} --ttl 5m -- make build`,
    );
  }
  const { ttl, wait, timeout, quiet } = args.flags;
  if (timeout !== undefined && !wait) {
    throw new UsageError("--timeout only applies with --wait", `add --wait`);
  }
  const conflictExit = args.flags["conflict-exit-code"] as number | undefined;
  if (conflictExit !== undefined && (conflictExit < 0 || conflictExit > 255)) {
    throw new UsageError(`--conflict-exit-code: ${conflictExit} is not an exit code (0 to 255)`);
  }
  const onLost = (args.flags["on-lost"] ?? "stop") as OnLost;
  const slots = slotsFlag(args.flags);

  if (wait === true) prepareSpawn();
  let outcome;
  try {
    outcome = await acquireOrWait(session, {
      name,
      kind: "guard",
      claim: session.selfClaim(),
      ttlMs: ttl as number | undefined,
      slots,
      command,
      enclosingLockId: session.enclosingLockId(),
    }, { wait: wait === true, timeoutMs: timeout as number | undefined, quiet: quiet === true });
  } catch (error) {
    if (conflictExit === undefined || exitCodeFor(error) !== EXIT.held) throw error;
    const e = error as LoktError;
    const { hintFor }: typeof import("../hints.ts") = await import(lazy("../hints.ts"));
    const hint = hintFor(e);
    session.err(`error: ${e.message}\n`);
    if (hint) session.err(`hint: ${hint}\n`);
    return conflictExit;
  }

  const result = await superviseGuard({
    locks: await session.locks(),
    probe: session.world.probe(),
    pid: session.world.pid,
    spawn: realSpawn,
    signals: realSignals,
    say: (line) => session.err(`lokt: ${line}\n`),
  }, { lock: outcome.lock, nested: outcome.kind === "nested", command, onLost });

  switch (result.kind) {
    case "exited":
      return result.code;
    case "lost":
      return EXIT.lost;
    case "interrupted":
      return exitCodeForSignal(result.signal);
    case "spawn-failed": {
      const notFound = result.failure.kind === "not-found";
      session.err(
        notFound
          ? `error: command not found: ${command[0]}\n`
          : `error: cannot run ${command[0]}: ${result.failure.message}\n`,
      );
      return notFound ? EXIT.commandNotFound : EXIT.commandNotExecutable;
    }
  }
}
