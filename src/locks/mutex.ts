/**
 * The per-name kernel lock. Every inspect-then-act on a name (acquire, takeover, renew, release,
 * break, freeze, queue changes) runs while holding an exclusive `flock` on `fences/<name>`, so
 * the record it inspected is still the one it acts on. The kernel drops the lock when the
 * holding process dies, so a crash never wedges a name. The same file stores the name's fence
 * counter; it is never deleted (deleting a lock file's inode under a waiter would let two
 * processes lock two different inodes).
 */

import { IoError } from "../errors.ts";
import { ensureLayout, fencePath, type Layout } from "./layout.ts";
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
  const options = { read: true, write: true, create: true, mode: 0o600 } as const;
  try {
    return Deno.openSync(path, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw new IoError(`cannot open ${path}`, error);
  }
  try {
    ensureLayout(layout);
    return Deno.openSync(path, options);
  } catch (error) {
    throw new IoError(`cannot create the lock root ${layout.root}`, error);
  }
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
        haltPoint("mutex.fence.before-write");
        if (file.writeSync(bytes) !== bytes.length) throw new Error("short write of fence");
        haltPoint("mutex.fence.after-write");
        // Not synced: see "Durability" in docs/protocol.md for what a power cut can cost.
      },
    };
    return await fn(mutex);
  } finally {
    file.close(); // closing the descriptor releases the flock
  }
}
