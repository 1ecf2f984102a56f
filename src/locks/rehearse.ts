/**
 * A dress rehearsal of the hand-off path. A fresh process pays for the first run of every code
 * path it takes (functions compiled on first call, runtime operations set up on first use):
 * measured, a first take costs 4-14 ms against 0.5 ms once warm. A waiter's first take, and a
 * guard's release, lie between one holder letting go and the next one holding. So a waiter
 * rehearses while it waits, and a guard while its command runs: once per process, it joins the
 * queue of, takes and releases the same name in a private scratch root under `tmp/`, through the
 * same functions, with nothing written to the audit log. Readers never look in `tmp/`.
 *
 * The scratch root is named with the process's writer tag (`leftovers.ts`): if the process is
 * killed during its rehearsal, the next lokt process that takes, waits or rehearses removes it.
 */

import { encodeEvent } from "../audit/event.ts";
import { type AcquireRequest, tryAcquire } from "./acquire.ts";
import { type LockContext, randomHex } from "./context.ts";
import { layoutOf, lockPath } from "./layout.ts";
import { REHEARSAL_PREFIX, writerTag } from "./leftovers.ts";
import { withNameMutex } from "./mutex.ts";
import { joinQueue, waiterOf } from "./queue.ts";
import { release } from "./release.ts";
import { readRecord } from "./store.ts";

// Warmth belongs to the process (its compiled code), not to a context: one rehearsal each.
let rehearsed = false;

/**
 * Runs the rehearsal for `req` once per process; later calls return at once. Best effort: a
 * failure is ignored, and the scratch root is removed on every path this process controls.
 */
export async function rehearse(ctx: LockContext, req: AcquireRequest): Promise<void> {
  if (rehearsed) return;
  rehearsed = true;
  const root = `${ctx.layout.tmp}/${REHEARSAL_PREFIX}${writerTag(ctx)}.${randomHex(4)}`;
  const scratch: LockContext = {
    ...ctx,
    layout: layoutOf(root),
    audit: { append: (event) => void encodeEvent(event) },
  };
  try {
    const ticket = await withNameMutex(
      scratch.layout,
      req.name,
      () => joinQueue(scratch, req.name, waiterOf(scratch, req.claim)),
    );
    const taken = await tryAcquire(scratch, { ...req, ticket, denyEvent: null });
    if (taken.kind !== "acquired") return;
    await release(scratch, {
      name: req.name,
      mode: "owner",
      lockId: taken.lock.lockId,
      slot: taken.lock.slot,
      slots: taken.lock.slots,
      claim: req.claim,
    });
  } catch {
    // a rehearsal only saves time; the real attempt reports any real problem
  } finally {
    try {
      Deno.removeSync(root, { recursive: true });
    } catch {
      // never created, or already gone
    }
  }
}

/**
 * The light rehearsal of a holder that took `name` without waiting, in a process that has not
 * rehearsed: read its own record once, the costliest first-use step of its release (about half a
 * millisecond in a fresh process). Read-only; done while nobody waits on this holder yet.
 */
export function rehearseRelease(ctx: LockContext, name: string): void {
  if (rehearsed) return;
  try {
    readRecord(lockPath(ctx.layout, name), ctx.now());
  } catch {
    // the release reports any real problem
  }
}
