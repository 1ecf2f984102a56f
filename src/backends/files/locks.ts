/**
 * The file engine as {@link Locks}: each operation calls the engine of `src/locks/` as the
 * commands always did. Its modules load when an operation is first called, so that a command
 * that only reads (`exists`) does not load what takes, waits or releases.
 *
 * @module
 */

import type { BackendInfo } from "../backend.ts";
import type { Keeper, Locks } from "../locks.ts";
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
import type { ReleaseOutcome, ReleaseRequest } from "../../locks/release.ts";
import { lazy } from "../../lazy.ts";

/** The file engine's operations over the lock context `ctx` gives (built on first use). */
export class FilesLocks implements Locks {
  readonly info: BackendInfo;
  readonly shared = undefined;
  readonly #ctx: () => LockContext;

  constructor(root: string, ctx: () => LockContext, source = "default") {
    this.info = { kind: "files", location: root, source };
    this.#ctx = ctx;
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

  close(): Promise<void> {
    return Promise.resolve();
  }
}
