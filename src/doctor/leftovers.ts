/**
 * Doctor checks of what the root holds: stale locks and freezes, unreadable lock files,
 * temporary files left by crashed writers, and queue tickets of waiters that are gone.
 */

import { processState } from "../identity/process.ts";
import type { LockContext } from "../locks/context.ts";
import { formatDuration } from "../locks/describe.ts";
import { type Entry, type Listing, problemOf } from "../locks/inspect.ts";
import { listQueue, TICKET_STALL_MS } from "../locks/queue.ts";
import { scopeOf } from "../locks/stale.ts";
import { CORRUPT_GRACE_MS, ORPHAN_TEMP_AGE_MS } from "../locks/store.ts";
import { type Check, check, listNames } from "./check.ts";

/** Temporary files older than this belong to a writer that is gone. */
export const ORPHAN_TMP_AGE_MS = ORPHAN_TEMP_AGE_MS;

/** Stale locks and expired freezes: harmless (the next acquirer takes them over) but noisy. */
export function staleCheck(listing: Listing): Check {
  const stale = [...listing.locks, ...listing.freezes].filter((e) => e.verdict?.kind === "stale");
  const names = stale.map((e) => `${e.kind === "freeze" ? "freeze " : ""}${e.name}`);
  const details = {
    stale: stale.map((e) => ({ name: e.name, kind: e.kind, reason: e.verdict!.reason })),
  };
  if (stale.length === 0) {
    const held = listing.locks.length + listing.freezes.length;
    return check("stale_locks", "ok", `no stale locks (${held} lock or freeze file(s))`, {
      details,
    });
  }
  return check(
    "stale_locks",
    "warn",
    `${stale.length} stale: ${listNames(names)} (the next lock of each name takes it over)`,
    { hint: "lokt status --prune-expired removes them now", details },
  );
}

/** Zero-byte, unparsable, unreadable or foreign files in `locks/` and `freezes/`. */
export function corruptCheck(listing: Listing): Check {
  const bad = [...listing.locks, ...listing.freezes].filter((e) =>
    e.state.kind !== "ok" && e.state.kind !== "absent"
  );
  const label = (e: Entry) => `${e.kind === "lock" ? "locks" : "freezes"}/${e.name}.json`;
  const details = {
    files: bad.map((e) => ({
      path: label(e),
      problem: problemOf(e),
      age_sec: "ageMs" in e.state ? e.state.ageMs / 1000 : 0,
    })),
    strays: listing.strays,
  };
  const unreadable = bad.filter((e) => e.state.kind === "unreadable");
  if (unreadable.length > 0) {
    return check(
      "corrupt_locks",
      "fail",
      `cannot read ${listNames(unreadable.map((e) => `${label(e)} (${problemOf(e)})`))}`,
      { hint: "fix the file's permissions, or remove it: lokt unlock NAME --force", details },
    );
  }
  if (bad.length > 0 || listing.strays.length > 0) {
    const described = bad.map((e) => `${label(e)} (${problemOf(e)})`);
    return check(
      "corrupt_locks",
      "warn",
      `${bad.length + listing.strays.length} unusable file(s): ` +
        listNames([...described, ...listing.strays.map((s) => `${s} (not a lock name)`)]) +
        `; unreadable files older than ${formatDuration(CORRUPT_GRACE_MS)} are taken over`,
      { hint: "lokt unlock NAME --force removes one (see `lokt why NAME` first)", details },
    );
  }
  return check("corrupt_locks", "ok", "every lock and freeze file parses", { details });
}

/** Files in `tmp/` older than {@link ORPHAN_TMP_AGE_MS}: left by a writer that crashed. */
export function orphanTmpCheck(tmpDir: string, nowMs: number): Check {
  const orphans: { name: string; ageMs: number }[] = [];
  let total = 0;
  try {
    for (const entry of Deno.readDirSync(tmpDir)) {
      total++;
      let ageMs = 0;
      try {
        const mtime = Deno.lstatSync(`${tmpDir}/${entry.name}`).mtime?.getTime();
        ageMs = mtime === undefined ? 0 : nowMs - mtime;
      } catch {
        continue; // its writer finished with it meanwhile
      }
      if (ageMs >= ORPHAN_TMP_AGE_MS) orphans.push({ name: entry.name, ageMs });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      return check("orphaned_tmp", "fail", `cannot list ${tmpDir}: ${String(error)}`, {
        hint: `chmod u+rwx ${tmpDir}`,
      });
    }
  }
  const details = {
    dir: tmpDir,
    files: total,
    orphans: orphans.map((o) => ({ name: o.name, age_sec: Math.round(o.ageMs / 1000) })),
  };
  if (orphans.length === 0) {
    return check("orphaned_tmp", "ok", "no leftover temporary files", { details });
  }
  return check(
    "orphaned_tmp",
    "warn",
    `${orphans.length} leftover temporary file(s) in ${tmpDir}: ` +
      listNames(orphans.map((o) => `${o.name} (${formatDuration(o.ageMs)} old)`)),
    {
      hint: "lokt status --prune-expired removes them (lokt never reads them)",
      details,
    },
  );
}

/** Queue tickets whose waiter died or stopped beating. */
export function queueCheck(ctx: LockContext, queueRoot: string): Check {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(queueRoot)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    names = [];
  }
  const now = ctx.now();
  const machine = ctx.probe.machine();
  const dead: string[] = [];
  const stalled: string[] = [];
  let live = 0;
  for (const name of names.sort()) {
    for (const ticket of listQueue(ctx, name)) {
      const label = `${name} #${ticket.seq} (pid ${ticket.pid})`;
      const scope = scopeOf(ticket, machine);
      const state = scope === "rebooted"
        ? "dead"
        : scope === "remote"
        ? "unknown"
        : processState(ctx.probe, ticket.pid, ticket.start);
      if (state === "dead") dead.push(label);
      else if (now - ticket.beatMs > TICKET_STALL_MS) stalled.push(label);
      else live++;
    }
  }
  const details = { live, dead, stalled };
  if (dead.length === 0 && stalled.length === 0) {
    return check("queue", "ok", `${live} live waiter(s) in the queue`, { details });
  }
  const parts = [
    dead.length > 0 ? `${dead.length} ticket(s) of dead waiters: ${listNames(dead)}` : "",
    stalled.length > 0 ? `${stalled.length} stalled ticket(s): ${listNames(stalled)}` : "",
  ].filter((p) => p !== "");
  return check("queue", "warn", `${parts.join("; ")} (passed over by other waiters)`, {
    hint: "the next waiter removes dead tickets; a stalled waiter is suspended or hung: " +
      "resume it or kill it",
    details,
  });
}
