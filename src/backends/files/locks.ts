/**
 * The file engine as {@link Locks}: each operation calls the engine of `src/locks/` as the
 * commands always did. Its modules load when an operation is first called, so that a command
 * that only reads (`exists`) does not load what takes, waits or releases.
 *
 * @module
 */

import type { BackendInfo } from "../backend.ts";
import type { AuditFollow, AuditPage, Keeper, Locks } from "../locks.ts";
import type { AuditFilter } from "../../audit/reader.ts";
import type { AcquireRequest, HeldOutcome } from "../../locks/acquire.ts";
import type { LockContext } from "../../locks/context.ts";
import type {
  FreezeOutcome,
  FreezeRequest,
  UnfreezeOutcome,
  UnfreezeRequest,
} from "../../locks/freeze.ts";
import type { Claim } from "../../locks/holder.ts";
import type { HoldOptions } from "../../locks/hold.ts";
import type { LeaseOptions } from "../../locks/lease.ts";
import type { LockRecord } from "../../locks/lockfile.ts";
import type { Pruned } from "../../locks/prune.ts";
import type { ReleaseOutcome, ReleaseRequest } from "../../locks/release.ts";
import type { NameStatus, StatusListing } from "../../locks/views.ts";
import type { Asker, WhyObservation } from "../../locks/why.ts";
import { lazy } from "../../lazy.ts";

/** The lock contexts the file engine works in, each built on first use. */
export interface FilesContexts {
  /** For the operations that change locks: it writes the audit log. */
  ctx: () => LockContext;
  /** For the read-only views: it writes nothing, and needs no identity. */
  readCtx: () => LockContext;
  /** Where the choice of files came from (default `default`). */
  source?: string;
}

/** The file engine's operations over the lock contexts `contexts` give. */
export class FilesLocks implements Locks {
  readonly info: BackendInfo;
  readonly #ctx: () => LockContext;
  readonly #readCtx: () => LockContext;

  constructor(root: string, contexts: FilesContexts) {
    this.info = { kind: "files", location: root, source: contexts.source ?? "default" };
    this.#ctx = contexts.ctx;
    this.#readCtx = contexts.readCtx;
  }

  get root(): string {
    return this.info.location;
  }

  async hold(
    req: AcquireRequest,
    options: HoldOptions,
  ): Promise<HeldOutcome & { waitedMs: number }> {
    const { hold }: typeof import("../../locks/hold.ts") = await import(
      lazy("../../locks/hold.ts")
    );
    return await hold(this.#ctx(), req, options);
  }

  async release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    const { release }: typeof import("../../locks/release.ts") = await import(
      lazy("../../locks/release.ts")
    );
    return await release(this.#ctx(), req);
  }

  async releaseAll(claim: Claim): Promise<LockRecord[]> {
    const { releaseAll }: typeof import("../../locks/release.ts") = await import(
      lazy("../../locks/release.ts")
    );
    return await releaseAll(this.#ctx(), claim);
  }

  async keep(lock: LockRecord, options: LeaseOptions): Promise<Keeper> {
    const { LeaseKeeper }: typeof import("../../locks/lease.ts") = await import(
      lazy("../../locks/lease.ts")
    );
    return new LeaseKeeper(this.#ctx(), lock, options);
  }

  async warm(lock: LockRecord): Promise<void> {
    const ctx = this.#ctx();
    const { rehearse }: typeof import("../../locks/rehearse.ts") = await import(
      lazy("../../locks/rehearse.ts")
    );
    await rehearse(ctx, {
      name: lock.name,
      kind: "guard",
      ttlMs: lock.ttlMs,
      command: lock.command,
      claim: {
        owner: lock.owner,
        host: lock.host,
        agentId: lock.agentId,
        process: { pid: ctx.actor.pid, start: lock.pidStart, source: "self" },
        ancestors: [],
        pid: ctx.actor.pid,
      },
    });
  }

  async freeze(req: FreezeRequest): Promise<FreezeOutcome> {
    const { freeze }: typeof import("../../locks/freeze.ts") = await import(
      lazy("../../locks/freeze.ts")
    );
    return await freeze(this.#ctx(), req);
  }

  async unfreeze(req: UnfreezeRequest): Promise<UnfreezeOutcome> {
    const { unfreeze }: typeof import("../../locks/freeze.ts") = await import(
      lazy("../../locks/freeze.ts")
    );
    return await unfreeze(this.#ctx(), req);
  }

  async isHeld(name: string): Promise<boolean> {
    const { inspectHolders, isHeld }: typeof import("../../locks/inspect.ts") = await import(
      lazy("../../locks/inspect.ts")
    );
    const entries = inspectHolders(this.#readCtx(), name);
    // A lock file that cannot be read at all is an error: neither "held" nor "free" would be true.
    for (const entry of entries) if (entry.state.kind === "unreadable") throw entry.state.error;
    return entries.some(isHeld);
  }

  async whyObservation(name: string, asker: Asker): Promise<WhyObservation> {
    const { observe }: typeof import("../../locks/observe.ts") = await import(
      lazy("../../locks/observe.ts")
    );
    return observe(this.#readCtx(), name, asker);
  }

  async statusListing(): Promise<StatusListing> {
    const { statusListing }: typeof import("../../locks/views.ts") = await import(
      lazy("../../locks/views.ts")
    );
    return statusListing(this.#readCtx());
  }

  async nameStatus(name: string): Promise<NameStatus> {
    const { nameStatus }: typeof import("../../locks/views.ts") = await import(
      lazy("../../locks/views.ts")
    );
    return nameStatus(this.#readCtx(), name);
  }

  async prune(claim: Claim, only?: string): Promise<Pruned[]> {
    const { pruneStale }: typeof import("../../locks/prune.ts") = await import(
      lazy("../../locks/prune.ts")
    );
    return await pruneStale(this.#ctx(), claim, only);
  }

  async readAudit(filter: AuditFilter, limit?: number): Promise<AuditPage> {
    const path = this.#readCtx().layout.audit;
    const { readAudit }: typeof import("../../audit/reader.ts") = await import(
      lazy("../../audit/reader.ts")
    );
    const read = readAudit(path, { filter, limit });
    return {
      events: read.events,
      skipped: read.skipped,
      location: path,
      exists: read.files.length > 0,
    };
  }

  async followAudit(follow: AuditFollow): Promise<void> {
    const path = this.#readCtx().layout.audit;
    const [{ readAudit }, { followAudit }]: [
      typeof import("../../audit/reader.ts"),
      typeof import("../../audit/follow.ts"),
    ] = await Promise.all([
      import(lazy("../../audit/reader.ts")),
      import(lazy("../../audit/follow.ts")),
    ]);
    const read = readAudit(path, { filter: follow.filter, limit: follow.limit });
    follow.onHistory({
      events: read.events,
      skipped: read.skipped,
      location: path,
      exists: read.files.length > 0,
    });
    // Follows from where the read stopped: nothing appended in between is missed.
    await followAudit(path, read.end, {
      filter: follow.filter,
      signal: follow.signal,
      onEvent: follow.onEvent,
      onSkipped: follow.onSkipped,
      noWatch: follow.noWatch,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
