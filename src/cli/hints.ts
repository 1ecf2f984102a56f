/**
 * The CLI's hints: the engine's errors say what happened in words any caller can use; here they
 * get the flags and commands that fix it from a shell.
 */

import { type LoktError, UnsupportedVersionError } from "../errors.ts";
import {
  AlreadyFrozenError,
  FrozenError,
  LockHeldError,
  NotFoundError,
  NotOwnerError,
  NotStaleError,
  QueuedError,
  SlotsMismatchError,
  UnreadableFreezeError,
  UnreadableLockError,
  WaitTimeoutError,
} from "../locks/errors.ts";

/** The name of the lock or freeze a file of the root belongs to (`locks/build.json`: `build`). */
function nameOfFile(path: string): string {
  const file = path.slice(path.lastIndexOf("/") + 1);
  return file.endsWith(".json") ? file.slice(0, -".json".length) : "NAME";
}

/** The hint to print for `error`: the CLI's own for the engine's errors, else the error's. */
export function hintFor(error: LoktError): string | undefined {
  if (error instanceof SlotsMismatchError) {
    return error.currentSlots === undefined
      ? `see \`lokt why ${error.lockName}\`; the number of slots can change once no one holds it`
      : `use --slots ${error.currentSlots}${
        error.currentSlots === 1 ? " (or no --slots)" : ""
      }, or wait until \`lokt exists ${error.lockName}\` exits 3 to change it`;
  }
  if (error instanceof LockHeldError) {
    return "add --wait to wait for it (first come, first served), or see " +
      `\`lokt why ${error.lockName}\``;
  }
  if (error instanceof QueuedError) return "add --wait to join the queue";
  if (error instanceof FrozenError) {
    return error.freeze === undefined
      ? `remove it with \`lokt unfreeze ${error.lockName} --force\``
      : `wait with --wait, or lift it with \`lokt unfreeze ${error.lockName}\``;
  }
  if (error instanceof WaitTimeoutError) {
    return "a longer --timeout, or no --timeout to wait as long as it takes; see " +
      `\`lokt why ${error.lockName}\``;
  }
  if (error instanceof NotFoundError) {
    return error.what === "lock" ? "see the held locks with `lokt status`" : undefined;
  }
  if (error instanceof NotOwnerError) {
    return error.lock.kind === "freeze"
      ? `lift it anyway with \`lokt unfreeze ${error.lockName} --force\``
      : `break it anyway with \`lokt unlock ${error.lockName} --force\``;
  }
  if (error instanceof NotStaleError) {
    return `only \`lokt unlock ${error.lockName} --force\` removes a live lock`;
  }
  if (error instanceof UnreadableLockError) {
    return `remove it with \`lokt unlock ${error.lockName} --force\``;
  }
  if (error instanceof AlreadyFrozenError) {
    return `only ${error.freeze.owner} can extend it; lift it with ` +
      `\`lokt unfreeze ${error.lockName} --force\``;
  }
  if (error instanceof UnreadableFreezeError) {
    return `remove it with \`lokt unfreeze ${error.lockName} --force\``;
  }
  if (error instanceof UnsupportedVersionError) {
    const name = nameOfFile(error.path);
    const remove = error.path.includes("/freezes/")
      ? `lokt unfreeze ${name} --force`
      : `lokt unlock ${name} --force`;
    return `upgrade lokt to work with it, or remove it with \`${remove}\``;
  }
  return error.hint;
}
