/**
 * What `status` reads, in one shape whichever backend keeps the locks: the file engine's entries
 * (records read and judged) with each name's queue. Here, the file backend's side, read-only:
 * nothing is created, pruned or audited. A shared backend builds the same shapes from its
 * snapshots (`src/backends/shared/views.ts`).
 */

import type { LockContext } from "./context.ts";
import { type Entry, inspect, inspectSlots, listAll, type Listing } from "./inspect.ts";
import { lockPath } from "./layout.ts";
import { listQueue, type Ticket } from "./queue.ts";

/** Every lock and freeze, judged at `nowMs`, with the length of each held name's queue. */
export interface StatusListing extends Listing {
  /** The clock the entries are shown against. */
  nowMs: number;
  /** How many tickets the queue of each readable lock's name holds. */
  waiting: Map<string, number>;
}

/** One name as `status NAME` shows it. */
export interface NameStatus {
  /** The clock the entries are shown against. */
  nowMs: number;
  /** The name's plain record (files: `locks/NAME.json`); absent on a name held with slots. */
  plain: Entry;
  /** The holders of a name held with N of 2 or more, by slot; none for a plain name. */
  slots: Entry[];
  /** The name's queue, earliest first (read only when the name has a record). */
  waiters: Ticket[];
  /** Where the name's record is, for messages: its lock file, or the name on a shared backend. */
  where: string;
}

/** Lists and judges everything under the root, with each readable lock's queue length. */
export function statusListing(ctx: LockContext): StatusListing {
  const listing = listAll(ctx);
  const waiting = new Map<string, number>();
  for (const entry of listing.locks) {
    if (entry.state.kind !== "ok" || waiting.has(entry.name)) continue;
    waiting.set(entry.name, listQueue(ctx, entry.name).length);
  }
  return { ...listing, nowMs: ctx.now(), waiting };
}

/** Reads and judges the records of `name`, and its queue when it has one. */
export function nameStatus(ctx: LockContext, name: string): NameStatus {
  const slots = inspectSlots(ctx, name);
  const plain = inspect(ctx, name, "lock");
  const known = slots.length > 0 || plain.state.kind === "ok";
  return {
    nowMs: ctx.now(),
    plain,
    slots,
    waiters: known ? listQueue(ctx, name) : [],
    where: lockPath(ctx.layout, name),
  };
}
