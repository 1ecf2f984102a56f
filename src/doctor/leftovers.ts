/**
 * Doctor checks of what the root holds: stale locks and freezes, unreadable lock files,
 * temporary files left by crashed writers, queue tickets of waiters that are gone, and the names
 * the root keeps files for.
 */

import { SymlinkError } from "../errors.ts";
import { processState } from "../identity/process.ts";
import type { LockContext } from "../locks/context.ts";
import { formatDuration } from "../locks/describe.ts";
import { type Entry, type Listing, problemOf } from "../locks/inspect.ts";
import type { Layout } from "../locks/layout.ts";
import { censusOfNames } from "../locks/reclaim.ts";
import { listQueue, TICKET_STALL_MS } from "../locks/queue.ts";
import { scopeOf } from "../locks/stale.ts";
import { CORRUPT_GRACE_MS, ORPHAN_TEMP_AGE_MS } from "../locks/store.ts";
import { type Check, check, listNames } from "./check.ts";

function isLink(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink;
  } catch {
    return false;
  }
}

/** A check skipped because its directory is a link, which the layout check reports. */
function notChecked(id: string, path: string): Check {
  return check(id, "ok", `not checked: ${path} is a symbolic link (see the layout check)`, {
    details: { skipped: true },
  });
}

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
    const links = unreadable.flatMap((e) =>
      e.state.kind === "unreadable" && e.state.error instanceof SymlinkError
        ? [e.state.error.path]
        : []
    );
    return check(
      "corrupt_locks",
      "fail",
      `cannot read ${listNames(unreadable.map((e) => `${label(e)} (${problemOf(e)})`))}`,
      {
        hint: links.length === unreadable.length
          ? `remove the link${links.length > 1 ? "s" : ""} (lokt never follows them): rm ` +
            links.join(" ")
          : "fix the file's permissions, or remove it: lokt unlock NAME --force",
        details,
      },
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
  if (isLink(tmpDir)) return notChecked("orphaned_tmp", tmpDir);
  const orphans: { name: string; ageMs: number }[] = [];
  let total = 0;
  try {
    for (const entry of Deno.readDirSync(tmpDir)) {
      total++;
      if (entry.isSymlink) continue; // not lokt's; the layout check reports it
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
  if (isLink(queueRoot)) return notChecked("queue", queueRoot);
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

/**
 * How many names have a fence file or a queue directory, and how many of those are unused (no
 * lock, freeze or ticket): each release reclaims its own name, so unused ones are only those a
 * waiter left in a race, or kept from before reclaiming existed. Never more than a note.
 */
export function namesCheck(layout: Layout): Check {
  const census = censusOfNames(layout);
  const details = {
    fence_files: census.fenceFiles,
    queue_dirs: census.queueDirs,
    unused: census.unused.length,
  };
  const counts = `${census.fenceFiles} fence file(s), ${census.queueDirs} queue directory(ies)`;
  if (census.unused.length === 0) {
    return check("names", "ok", `${counts}; no unused name`, { details });
  }
  return check(
    "names",
    "ok",
    `${counts}; ${census.unused.length} unused name(s): ${listNames(census.unused)} ` +
      "(lokt status --prune-expired reclaims them)",
    { details },
  );
}
