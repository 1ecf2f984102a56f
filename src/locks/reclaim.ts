/**
 * Reclaiming unused names. A name leaves a fence file (`fences/<name>`) and a queue directory
 * (`queue/<name>/`) behind; agents that use generated names (`port-3000-<id>`, one per branch)
 * would grow the root without limit. A name is unused when it has no lock file, no slot holder's
 * file, no freeze file and no queue ticket; then, under its kernel lock, its empty queue and slot
 * directories are removed and its fence file retired (the counter folded into the root's fence floor, then the file removed).
 * Every release and unfreeze does this for its name; `status --prune-expired` does it for the
 * whole root. `docs/protocol.md` ("Reclaiming unused names") says why it is safe.
 */

import type { LockContext } from "./context.ts";
import { freezePath, type Layout, lockPath, queueDir, slotDir } from "./layout.ts";
import { type NameMutex, withNameMutex } from "./mutex.ts";
import { nameProblem } from "./name.ts";
import { lstatOrUndefined, refuseLinkedDirs } from "../nofollow.ts";
import { waitersAhead } from "./queue.ts";
import { removeEmptySlotDir } from "./slots.ts";
import { haltPoint } from "../testing/halt.ts";

/** True when something (a file, a directory, a link) is at `path`, or it cannot be told. */
function present(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}

/**
 * Removes the queue directory at `path` if it is empty or absent; false when it holds anything
 * (a ticket: the name is in use) or cannot be removed. `rmdir` fails on a directory that is not
 * empty, and tickets are only created under the name's kernel lock, so none can appear between
 * the look and the removal.
 */
function removeEmptyQueue(path: string): boolean {
  // A link (or a file) where the queue directory belongs is not lokt's to remove: it stays for the
  // commands that refuse it and for doctor, and the name is kept.
  const info = lstatOrUndefined(path);
  if (info === undefined) return true;
  if (!info.isDirectory) return false;
  try {
    Deno.removeSync(path);
    haltPoint("reclaim.queue-removed", path);
    return true;
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/**
 * Removes the queue directory of `name` if it is empty, and reclaims the name if it is unused: no
 * lock file, no freeze file, no queue ticket. Call under the name's kernel lock (`mutex`), as the
 * last step: once the fence file is gone, the next process creates a new one and may enter at
 * once. True when the name was reclaimed.
 */
export function reclaimIfUnused(layout: Layout, name: string, mutex: NameMutex): boolean {
  // The queue first: an empty one may go whatever else the name has, and a waiter's ticket (a
  // hand-off about to happen) ends the check at once.
  if (!removeEmptyQueue(queueDir(layout, name))) return false;
  // A slot holder's file keeps the name in use; an empty slot directory goes like an empty queue.
  if (!removeEmptySlotDir(layout, name)) return false;
  if (present(lockPath(layout, name)) || present(freezePath(layout, name))) return false;
  try {
    return mutex.retire();
  } catch {
    // Housekeeping only: a floor that cannot be written (a full disk cannot create it) keeps the
    // fence file where it is, which is always safe, and does not fail the step it ends.
    return false;
  }
}

/**
 * Runs `fn` under the kernel lock of `name`, as `withNameMutex` does, then reclaims the name if
 * that left it unused: the way release, break and unfreeze end.
 */
export function withNameMutexThenReclaim<T>(
  layout: Layout,
  name: string,
  fn: (mutex: NameMutex) => T,
): Promise<T> {
  return withNameMutex(layout, name, (mutex) => {
    const result = fn(mutex);
    reclaimIfUnused(layout, name, mutex);
    return result;
  });
}

function validNames(dir: string, directories: boolean): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory !== directories || entry.isSymlink) continue;
      if (nameProblem(entry.name) === undefined) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

/**
 * The names that have a fence file or a queue directory, sorted. A symbolic link in place of
 * `fences/` or `queue/` is refused (`SymlinkError`): its listing would be of a directory elsewhere.
 */
function namesWithFiles(layout: Layout): { fenced: string[]; queued: string[]; all: string[] } {
  refuseLinkedDirs([layout.fences, layout.queue]);
  const fenced = validNames(layout.fences, false);
  const queued = validNames(layout.queue, true);
  return { fenced, queued, all: [...new Set([...fenced, ...queued])].sort() };
}

/**
 * Reclaims every unused name of the root, or only `only` (`status --prune-expired`), each under
 * its kernel lock, after removing the tickets of dead waiters as an acquisition would. Returns
 * the names reclaimed.
 */
export async function reclaimUnused(ctx: LockContext, only?: string): Promise<string[]> {
  const reclaimed: string[] = [];
  for (const name of namesWithFiles(ctx.layout).all) {
    if (only !== undefined && name !== only) continue;
    if (present(lockPath(ctx.layout, name)) || present(freezePath(ctx.layout, name))) continue;
    const done = await withNameMutex(ctx.layout, name, (mutex) => {
      waitersAhead(ctx, name);
      return reclaimIfUnused(ctx.layout, name, mutex);
    });
    if (done) reclaimed.push(name);
  }
  return reclaimed;
}

/** How many names the root keeps files for, and how many of them are unused. */
export interface NameCensus {
  /** Names with a fence file. */
  fenceFiles: number;
  /** Names with a queue directory. */
  queueDirs: number;
  /** Names with either but no lock file, slot directory, freeze file or queue entry. */
  unused: string[];
}

/** Counts the names the root keeps files for; read-only, without any lock (`doctor`). */
export function censusOfNames(layout: Layout): NameCensus {
  const { fenced, queued, all } = namesWithFiles(layout);
  const unused = all.filter((name) => {
    if (present(lockPath(layout, name)) || present(freezePath(layout, name))) return false;
    if (present(slotDir(layout, name))) return false;
    try {
      for (const _ of Deno.readDirSync(queueDir(layout, name))) return false;
    } catch {
      // no queue directory
    }
    return true;
  });
  return { fenceFiles: fenced.length, queueDirs: queued.length, unused };
}
