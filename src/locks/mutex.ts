/**
 * The per-name kernel lock. Every inspect-then-act on a name (acquire, takeover, renew, release,
 * break, freeze, queue changes) runs while holding an exclusive `flock` on `fences/<name>`, so
 * the record it inspected is still the one it acts on. The kernel drops the lock when the
 * holding process dies, so a crash never wedges a name. The same file stores the name's fence
 * counter.
 *
 * A fence file is removed only by a reclaim of an unused name (`reclaim.ts`), which first folds
 * its counter into the root's fence floor (`fences/.floor`), so fences keep growing. A process
 * that opened the file before the removal may then get the lock on a file that no path names
 * any more, while a newcomer locks the new file: so the lock counts only once the path is seen
 * to name the very file locked (see `docs/protocol.md`, "Reclaiming unused names").
 */

import { IoError, LoktError } from "../errors.ts";
import {
  ensureLayout,
  fenceFloorPath,
  fencePath,
  type Layout,
  refuseLinkedLayout,
} from "./layout.ts";
import { openOrCreate } from "../nofollow.ts";
import { haltPoint } from "../testing/halt.ts";
import { sabotaged } from "../testing/sabotage.ts";

/** The held kernel lock of one name, with access to its fence counter. */
export interface NameMutex {
  /**
   * At least the highest fence handed out for this name so far (0 if none): its counter, or,
   * while the counter is unwritten (a new fence file, perhaps of a reclaimed name), the root's
   * fence floor.
   */
  readFence(): number;
  /** Records `fence` as the highest handed out, before any record carrying it is published. */
  writeFence(fence: number): void;
  /**
   * Folds the counter into the root's fence floor, then removes the fence file. Only for a name
   * that is unused (`reclaim.ts` decides), and as the last step under the lock: the next process
   * creates a new fence file and may enter at once. False, and nothing done, where the file
   * system gives no inode numbers: there the check after locking could not tell the removed file
   * from its successor.
   */
  retire(): boolean;
}

const FENCE_WIDTH = 20;

function openMutexFile(layout: Layout, name: string): Deno.FsFile {
  const path = fencePath(layout, name);
  refuseLinkedLayout(layout);
  try {
    return openFence(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw asIo(error, `cannot open ${path}`);
  }
  try {
    ensureLayout(layout);
    return openFence(path);
  } catch (error) {
    throw asIo(error, `cannot create the lock root ${layout.root}`);
  }
}

function asIo(error: unknown, what: string): LoktError {
  return error instanceof LoktError ? error : new IoError(what, error);
}

/**
 * Opens (or creates) a fence file, refusing a symbolic link: lokt writes its counter into the
 * file, and must never write through a link planted in its root to a file elsewhere, nor create
 * the missing target of a dangling one (see `openOrCreate` for the races this covers). The file
 * opened is the one the path named at the open; a reclaim may remove it afterwards, which
 * {@link lockCurrent} checks once it holds the lock.
 */
function openFence(path: string): Deno.FsFile {
  return openOrCreate(path, { read: true, write: true }, 0o600);
}

/**
 * Opens the fence file of `name` and takes its kernel lock. Race: a reclaim may remove the path
 * while this process waits for the lock on the file it opened; the lock it then gets guards
 * nothing, since later processes create and lock a new file. So once locked, the path must still
 * name the opened file (same device and inode), or the process opens the path again. Only a
 * process holding the lock of the file the path names removes it, so the check stays true for as
 * long as the lock is held.
 */
async function lockCurrent(layout: Layout, name: string): Promise<Deno.FsFile> {
  const path = fencePath(layout, name);
  for (;;) {
    const file = openMutexFile(layout, name);
    try {
      // Uncontended, the lock is taken at once without leaving this thread; only a wait goes
      // through the asynchronous call, which runs on one of Deno's blocking threads.
      if (!file.tryLockSync(true)) await file.lock(true);
      if (sabotaged("skip-verify") || namesFile(path, file)) return file;
    } catch (error) {
      file.close();
      throw asIo(error, `cannot lock ${path}`);
    }
    file.close(); // reclaimed while we waited: lock the file that is there now
  }
}

function namesFile(path: string, file: Deno.FsFile): boolean {
  let named: Deno.FileInfo;
  try {
    named = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  const opened = file.statSync();
  return named.ino === opened.ino && named.dev === opened.dev;
}

function readNumber(file: Deno.FsFile): number {
  const buf = new Uint8Array(64);
  file.seekSync(0, Deno.SeekMode.Start);
  const n = file.readSync(buf) ?? 0;
  const value = Number(new TextDecoder().decode(buf.subarray(0, n)).trim());
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** Fixed width, one write at offset 0: the number is never seen half-written. */
function writeNumber(file: Deno.FsFile, value: number, path: string): void {
  const bytes = new TextEncoder().encode(String(value).padStart(FENCE_WIDTH, "0") + "\n");
  file.seekSync(0, Deno.SeekMode.Start);
  let written: number;
  try {
    written = file.writeSync(bytes);
  } catch (error) {
    throw new IoError(`cannot write the fence counter ${path}`, error);
  }
  if (written !== bytes.length) throw new Error(`short write of ${path}`);
  // Not synced: see "Durability" in docs/protocol.md for what a power cut can cost.
}

/** Opens (or creates) the root's fence floor; a link there is refused as for a fence file. */
function openFloor(layout: Layout): Deno.FsFile {
  return openFence(fenceFloorPath(layout));
}

/**
 * The root's fence floor, read under a shared lock of its file: without it, a read racing a
 * writer could in principle see some digits of each number (Linux does not order a read against a
 * concurrent write to the same bytes), and a mix of two numbers can be lower than both.
 */
function readFloor(layout: Layout): number {
  const file = openFloor(layout);
  try {
    file.lockSync(false);
    return readNumber(file);
  } finally {
    file.close();
  }
}

/** Raises the root's fence floor to `fence` (it never goes down), under an exclusive lock. */
function raiseFloor(layout: Layout, fence: number): void {
  if (fence === 0) return;
  const path = fenceFloorPath(layout);
  const file = openFloor(layout);
  try {
    file.lockSync(true);
    if (readNumber(file) >= fence) return;
    haltPoint("mutex.floor.before-write", path);
    writeNumber(file, fence, path);
    haltPoint("mutex.floor.after-write", path);
  } finally {
    file.close();
  }
}

/** Runs `fn` while holding the kernel lock of `name`. */
export async function withNameMutex<T>(
  layout: Layout,
  name: string,
  fn: (mutex: NameMutex) => T | Promise<T>,
  sabotage: { unlocked?: boolean } = {},
): Promise<T> {
  const path = fencePath(layout, name);
  // `unlocked` exists for one negative control of the race tests (`slots-unlocked`): the fence
  // file is opened but never locked, so the step runs outside the name's critical section.
  const file = sabotage.unlocked ? openMutexFile(layout, name) : await lockCurrent(layout, name);
  let retired = false;
  try {
    const mutex: NameMutex = {
      readFence() {
        const counter = readNumber(file);
        return counter > 0 ? counter : readFloor(layout);
      },
      writeFence(fence: number) {
        if (retired) throw new Error(`the fence file ${path} was retired`);
        haltPoint("mutex.fence.before-write", path);
        writeNumber(file, fence, path);
        haltPoint("mutex.fence.after-write", path);
      },
      retire() {
        if (file.statSync().ino === null) return false;
        // The floor first: from the removal on, a newcomer takes its next fence from it.
        if (!sabotaged("skip-fold")) raiseFloor(layout, readNumber(file));
        try {
          Deno.removeSync(path);
        } catch (error) {
          // Gone already: only a hand (or a broken protocol) removes it under the lock.
          if (!(error instanceof Deno.errors.NotFound)) {
            throw new IoError(`cannot remove ${path}`, error);
          }
        }
        retired = true;
        haltPoint("mutex.retired", path);
        return true;
      },
    };
    return await fn(mutex);
  } finally {
    file.close(); // closing the descriptor releases the flock
  }
}
