/**
 * Gathers what `why` needs about one name, strictly read-only: no kernel lock (taking it would
 * create the fence file), no pruning, no audit line, nothing created. What it returns is a
 * best-effort snapshot: the files may change while it reads them.
 */

import { processState } from "../identity/process.ts";
import { SymlinkError } from "../errors.ts";
import { readNoFollow, refuseLinkedDirs } from "../nofollow.ts";
import type { LockContext } from "./context.ts";
import { type Entry, inspect, inspectSlots } from "./inspect.ts";
import { fenceFloorPath, fencePath } from "./layout.ts";
import { assertValidName } from "./name.ts";
import { listQueue } from "./queue.ts";
import { scopeOf } from "./stale.ts";
import type { Asker, RecordSeen, SlotSeen, WaiterSeen, WhyObservation } from "./why.ts";

function seen(ctx: LockContext, name: string, kind: "lock" | "freeze"): RecordSeen {
  return seenOf(inspect(ctx, name, kind));
}

function seenOf(entry: Entry): RecordSeen {
  const state = entry.state;
  switch (state.kind) {
    case "absent":
      return { kind: "absent" };
    case "ok":
      return { kind: "ok", record: state.lock, verdict: entry.verdict! };
    case "empty":
    case "corrupt":
      return { kind: "unreadable", cause: state.kind, problem: state.problem, ageMs: state.ageMs };
    case "unreadable":
      // A link is refused as `lock` refuses it, not explained as a record that blocks.
      if (state.error instanceof SymlinkError) throw state.error;
      return { kind: "unreadable", cause: "io", problem: state.problem, ageMs: 0 };
    case "unsupported":
      return { kind: "unsupported", version: state.version };
  }
}

/** The number in the file at `path`; 0 when it is absent or holds none. Refuses a link. */
function readNumber(path: string): number {
  let text: string;
  try {
    const read = readNoFollow(path);
    if (read.kind !== "file") return 0;
    text = new TextDecoder().decode(read.bytes);
  } catch (error) {
    if (error instanceof SymlinkError) throw error;
    return 0;
  }
  const value = Number(text.trim());
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/**
 * At least the highest fence handed out for `name`, as the next acquisition would read it: the
 * name's counter, or while it has none (never acquired, or reclaimed) the root's fence floor. 0
 * when neither is written.
 */
export function readFenceCounter(ctx: LockContext, name: string): number {
  // A symbolic link in place of `fences/` or a counter is refused, as `lock` refuses it.
  refuseLinkedDirs([ctx.layout.fences]);
  const counter = readNumber(fencePath(ctx.layout, name));
  return counter > 0 ? counter : readNumber(fenceFloorPath(ctx.layout));
}

function waiters(ctx: LockContext, name: string): WaiterSeen[] {
  const machine = ctx.probe.machine();
  return listQueue(ctx, name).map((ticket) => {
    const scope = scopeOf(ticket, machine);
    if (scope === "remote") return { ticket, process: "remote" };
    if (scope === "rebooted") return { ticket, process: "dead" };
    const state = processState(ctx.probe, ticket.pid, ticket.start);
    return { ticket, process: state === "dead" ? "dead" : "alive" };
  });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads the lock (or its slots), freeze, queue and fence of `name`, changing nothing. */
export function observe(ctx: LockContext, name: string, asker: Asker): WhyObservation {
  assertValidName(name);
  const rootExists = exists(ctx.layout.root);
  const absent: RecordSeen = { kind: "absent" };
  const slots: SlotSeen[] = rootExists
    ? inspectSlots(ctx, name).map((entry) => ({ slot: entry.slot ?? 1, seen: seenOf(entry) }))
    : [];
  return {
    name,
    nowMs: ctx.now(),
    rootExists,
    lock: rootExists ? seen(ctx, name, "lock") : absent,
    freeze: rootExists ? seen(ctx, name, "freeze") : absent,
    waiters: rootExists ? waiters(ctx, name) : [],
    fence: rootExists ? readFenceCounter(ctx, name) : 0,
    asker,
    ...(slots.length === 0 ? {} : { slots }),
  };
}
