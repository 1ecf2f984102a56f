/**
 * Pruning (`status --prune-expired`): remove what no longer holds anything: stale locks,
 * abandoned unreadable lock files, expired freezes, temporary files of crashed writers, and the
 * fence files and empty queues of unused names (`reclaim.ts`). Each
 * removal goes through the same checked, audited path as a break or an acquisition, under the
 * name's kernel lock.
 */

import type { LockContext } from "./context.ts";
import { pruneFreeze } from "./freeze.ts";
import type { Claim } from "./holder.ts";
import { listAll } from "./inspect.ts";
import { reclaimUnused } from "./reclaim.ts";
import { release } from "./release.ts";
import type { Verdict } from "./stale.ts";
import { isAbandoned, pruneOrphanTemps } from "./store.ts";

/** One thing pruning removed. */
export type Pruned =
  | { kind: "stale-lock"; name: string; verdict: Verdict }
  | { kind: "unreadable-lock"; name: string; problem: string }
  | { kind: "expired-freeze"; name: string }
  /** A file (or rehearsal root) in `tmp/` left by a writer that crashed. */
  | { kind: "orphan-temp"; file: string }
  /** Names reclaimed: their fence files and empty queue directories removed. */
  | { kind: "unused-names"; names: string[] };

/**
 * Removes stale locks, abandoned unreadable lock files and expired freezes (of `only`, or of every
 * name), and with every name also old temporary files; returns what went. A lock that came back
 * to life or changed hands since it was listed is left alone: each removal re-checks under the
 * name's kernel lock.
 */
export async function pruneStale(ctx: LockContext, claim: Claim, only?: string): Promise<Pruned[]> {
  const listing = listAll(ctx);
  const done: Pruned[] = [];
  for (const entry of listing.locks) {
    if (only !== undefined && entry.name !== only) continue;
    const stale = entry.verdict?.kind === "stale" ||
      ((entry.state.kind === "empty" || entry.state.kind === "corrupt") &&
        isAbandoned(entry.state));
    if (!stale) continue;
    const outcome = await release(ctx, { name: entry.name, mode: "break-stale", claim });
    if (outcome.kind === "broken") {
      done.push({ kind: "stale-lock", name: entry.name, verdict: outcome.verdict });
    }
    if (outcome.kind === "removed-unreadable") {
      done.push({ kind: "unreadable-lock", name: entry.name, problem: outcome.problem });
    }
  }
  for (const entry of listing.freezes) {
    if (only !== undefined && entry.name !== only) continue;
    if (entry.verdict?.kind !== "stale" && entry.state.kind === "ok") continue;
    if (await pruneFreeze(ctx, entry.name)) done.push({ kind: "expired-freeze", name: entry.name });
  }
  if (only === undefined) {
    for (const file of pruneOrphanTemps(ctx.layout, ctx.now())) {
      done.push({ kind: "orphan-temp", file });
    }
  }
  const names = await reclaimUnused(ctx, only);
  if (names.length > 0) done.push({ kind: "unused-names", names });
  return done;
}
