/**
 * What a killed lokt leaves in `tmp/`: temporary files written but not yet linked or renamed into
 * place, and rehearsals' scratch roots (`rehearse.ts`). Their names carry the writer's tag (pid,
 * process start token, and a digest of the machine facts that scope pids), so any later process
 * of the same machine can tell that the writer is gone and clear them at once, without waiting
 * for an age limit. Readers never look in `tmp/`: these are only litter, never state.
 */

import { processState } from "../identity/process.ts";
import type { LockContext } from "./context.ts";
import { refuseLinkedDirs } from "../nofollow.ts";

/** Scratch roots of rehearsals are directories `tmp/rehearsal.<tag>.<hex>`. */
export const REHEARSAL_PREFIX = "rehearsal.";

/** The parts of a writer's tag. */
export interface WriterTag {
  pid: number;
  /** The process start token, letters and digits only; empty when the platform has none. */
  start: string;
  /** Digest of the host, boot and pid namespace the pid belongs to. */
  scope: string;
}

const tags = new WeakMap<LockContext, string>();

/** The tag of the process acting through `ctx`: `<pid>-<start>-<scope>`. Computed once per ctx. */
export function writerTag(ctx: LockContext): string {
  let tag = tags.get(ctx);
  if (tag === undefined) {
    const pid = ctx.actor.pid;
    const start = (ctx.probe.info(pid)?.start ?? "").replace(/[^A-Za-z0-9]/g, "");
    tag = `${pid}-${start}-${scopeDigest(ctx)}`;
    tags.set(ctx, tag);
  }
  return tag;
}

function scopeDigest(ctx: LockContext): string {
  const m = ctx.probe.machine();
  // FNV-1a, 32 bits: a name component, not a security boundary.
  let h = 0x811c9dc5;
  for (const ch of `${m.host}|${m.bootId ?? ""}|${m.pidNs ?? ""}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

const TAGGED = /(?:^|\.)(\d+)-([A-Za-z0-9]*)-([0-9a-f]{8})\.[0-9a-f]+(?:\.tmp)?$/;

/** The writer's tag in a `tmp/` entry's name, or undefined for a name without one. Pure. */
export function tagOf(entryName: string): WriterTag | undefined {
  const m = entryName.match(TAGGED);
  if (!m) return undefined;
  return { pid: Number(m[1]), start: m[2], scope: m[3] };
}

/**
 * Is the writer of this `tmp/` entry gone, as judged from this process? Only entries tagged in
 * this process's own scope are judged (a pid means nothing in another pid namespace or after a
 * reboot); a recycled pid is told apart by its start token.
 */
export function writerIsGone(ctx: LockContext, entryName: string): boolean {
  const tag = tagOf(entryName);
  if (tag === undefined || tag.scope !== scopeDigest(ctx)) return false;
  if (tag.pid === ctx.actor.pid && entryName.includes(writerTag(ctx))) return false;
  return processState(ctx.probe, tag.pid, tag.start === "" ? undefined : tag.start) === "dead";
}

const swept = new WeakSet<LockContext>();

/**
 * Removes the entries of `tmp/` whose writers are gone; returns their names. Runs once per ctx
 * (a process's first take, wait or rehearsal): one directory read, usually of an empty directory.
 * Race: a writer can only be judged gone once dead, so nothing it still uses is removed; two
 * sweepers may remove the same entry, and the loser ignores NotFound.
 */
export function sweepLeftovers(ctx: LockContext): string[] {
  if (swept.has(ctx)) return [];
  refuseLinkedDirs([ctx.layout.tmp]); // a linked tmp/ would have lokt delete files elsewhere
  swept.add(ctx);
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(ctx.layout.tmp)];
  } catch {
    return removed;
  }
  for (const entry of entries) {
    if (entry.isSymlink || !writerIsGone(ctx, entry.name)) continue;
    try {
      Deno.removeSync(`${ctx.layout.tmp}/${entry.name}`, { recursive: entry.isDirectory });
      removed.push(entry.name);
    } catch {
      // another process cleared it first
    }
  }
  return removed;
}
