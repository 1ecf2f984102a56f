/**
 * The per-name kernel lock. Every inspect-then-act on a name (acquire, takeover, renew, release,
 * break, freeze, queue changes) runs while holding an exclusive `flock` on `fences/<name>`, so
 * the record it inspected is still the one it acts on. The kernel drops the lock when the
 * holding process dies, so a crash never wedges a name. The same file stores the name's fence
 * counter; it is never deleted (deleting a lock file's inode under a waiter would let two
 * processes lock two different inodes).
 */

import { IoError, LoktError } from "../errors.ts";
import { ensureLayout, fencePath, type Layout, refuseLinkedLayout } from "./layout.ts";
import { openOrCreate } from "../nofollow.ts";
import { haltPoint } from "../testing/halt.ts";

/** The held kernel lock of one name, with access to its fence counter. */
export interface NameMutex {
  /** The highest fence handed out for this name so far (0 if none). */
  readFence(): number;
  /** Records `fence` as the highest handed out, before any record carrying it is published. */
  writeFence(fence: number): void;
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
 * the missing target of a dangling one (see `openOrCreate` for the races this covers).
 */
function openFence(path: string): Deno.FsFile {
  return openOrCreate(path, { read: true, write: true }, 0o600);
}

/** Runs `fn` while holding the kernel lock of `name`. */
export async function withNameMutex<T>(
  layout: Layout,
  name: string,
  fn: (mutex: NameMutex) => T | Promise<T>,
): Promise<T> {
  const file = openMutexFile(layout, name);
  try {
    await file.lock(true);
    const mutex: NameMutex = {
      readFence() {
        const buf = new Uint8Array(64);
        file.seekSync(0, Deno.SeekMode.Start);
        const n = file.readSync(buf) ?? 0;
        const value = Number(new TextDecoder().decode(buf.subarray(0, n)).trim());
        return Number.isSafeInteger(value) && value > 0 ? value : 0;
      },
      writeFence(fence: number) {
        // Fixed width, one write at offset 0: the counter is never seen half-written.
        const text = String(fence).padStart(FENCE_WIDTH, "0") + "\n";
        file.seekSync(0, Deno.SeekMode.Start);
        const bytes = new TextEncoder().encode(text);
        haltPoint("mutex.fence.before-write", fencePath(layout, name));
        let written: number;
        try {
          written = file.writeSync(bytes);
        } catch (error) {
          throw new IoError(`cannot write the fence counter ${fencePath(layout, name)}`, error);
        }
        if (written !== bytes.length) throw new Error("short write of fence");
        haltPoint("mutex.fence.after-write", fencePath(layout, name));
        // Not synced: see "Durability" in docs/protocol.md for what a power cut can cost.
      },
    };
    return await fn(mutex);
  } finally {
    file.close(); // closing the descriptor releases the flock
  }
}
