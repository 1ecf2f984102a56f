/**
 * The locks one `lokt mcp` server holds for its client. Each is a guard-kind lock naming the
 * server's own process: alive while the server runs, whatever its TTL says, and stale at once
 * when it is gone (SIGKILL included). A lease keeper watches each hold (renewing its TTL, if it
 * has one, at half the TTL) and notices when someone breaks it.
 */

import { InterruptedError } from "../errors.ts";
import type { HeldOutcome } from "../locks/acquire.ts";
import type { LockContext } from "../locks/context.ts";
import { NotFoundError, NotOwnerError } from "../locks/errors.ts";
import { hold, type HoldOptions } from "../locks/hold.ts";
import type { Claim } from "../locks/holder.ts";
import { lockPath } from "../locks/layout.ts";
import type { LockRecord } from "../locks/lockfile.ts";
import { LeaseKeeper } from "../locks/lease.ts";
import { release, type ReleaseOutcome } from "../locks/release.ts";
import { readRecord } from "../locks/store.ts";

/** What an acquire asks for. */
export interface HoldRequest {
  name: string;
  ttlMs?: number;
  /** The name's number of slots (1, a plain lock, when absent). */
  slots?: number;
}

/** A hold of this server: the outcome that took it, and how long the wait lasted. */
export type Held = HeldOutcome & { waitedMs: number };

/** The server's holds, by name. */
export class Holdings {
  readonly #ctx: LockContext;
  readonly #claim: () => Claim;
  readonly #client: () => string | undefined;
  readonly #onChange: () => void;
  readonly #onError: (error: unknown) => void;
  readonly #held = new Map<string, { lock: LockRecord; keeper: LeaseKeeper }>();
  #closed = false;

  constructor(options: {
    ctx: LockContext;
    /** The server as a holder: its owner, agent id, and its own process. */
    claim: () => Claim;
    /** The client's `name/version`, once known. */
    client: () => string | undefined;
    /** Called when a hold is taken, released or lost. */
    onChange: () => void;
    /** Problems that do not end a hold (a renewal that failed and will be retried). */
    onError: (error: unknown) => void;
  }) {
    this.#ctx = options.ctx;
    this.#claim = options.claim;
    this.#client = options.client;
    this.#onChange = options.onChange;
    this.#onError = options.onError;
  }

  /** The names held now. */
  names(): string[] {
    return [...this.#held.keys()].sort();
  }

  /** This server's hold of `name`, if it has one. */
  lockOf(name: string): LockRecord | undefined {
    return this.#held.get(name)?.lock;
  }

  /**
   * Takes `req.name` for this server, once or waiting as `options` say; throws what blocks it.
   * Taking a name it already holds answers with that hold (`reentered`), unchanged.
   */
  async acquire(req: HoldRequest, options: HoldOptions): Promise<Held> {
    const mine = this.#held.get(req.name);
    if (mine !== undefined) return { kind: "reentered", lock: mine.lock, waitedMs: 0 };
    const outcome = await hold(this.#ctx, {
      name: req.name,
      kind: "guard",
      claim: this.#claim(),
      ttlMs: req.ttlMs,
      slots: req.slots,
      client: this.#client(),
    }, options);
    this.#keep(outcome.lock);
    this.#onChange();
    if (this.#closed || options.signal?.aborted) {
      // The wait ended just as the call was cancelled or the server began to shut down: nobody
      // would learn that the lock is held, so let it go at once.
      await this.release(req.name);
      throw new InterruptedError({
        aborted: this.#closed ? "the server is shutting down" : options.signal?.reason,
      });
    }
    return outcome;
  }

  #keep(lock: LockRecord): void {
    const keeper = new LeaseKeeper(this.#ctx, lock, {
      onLost: () => {
        if (this.#held.get(lock.name)?.keeper === keeper) this.#held.delete(lock.name);
        this.#onError(new Error(`lock "${lock.name}" was broken by someone else`));
        this.#onChange();
      },
      onError: this.#onError,
      lostExtra: { mcp: true },
    });
    this.#held.set(lock.name, { lock, keeper });
    keeper.start();
  }

  /**
   * Releases this server's hold of `name`. A name it does not hold is an error: not found when
   * nobody holds it, not the owner when someone else does (nobody else's lock is touched).
   */
  async release(name: string): Promise<ReleaseOutcome & { kind: "released" }> {
    const mine = this.#held.get(name);
    if (mine === undefined) {
      const state = readRecord(lockPath(this.#ctx.layout, name), this.#ctx.now());
      if (state.kind === "ok") {
        throw new NotOwnerError(name, state.lock, `this lokt mcp server (pid ${Deno.pid})`);
      }
      throw new NotFoundError(name);
    }
    this.#held.delete(name);
    await mine.keeper.stop();
    const outcome = await release(this.#ctx, {
      name,
      mode: "owner",
      lockId: mine.lock.lockId,
      claim: this.#claim(),
    });
    this.#onChange();
    if (outcome.kind === "released") return outcome;
    // Broken by someone else between the last check and now: it was no longer ours.
    throw new NotFoundError(name);
  }

  /** Releases every hold and refuses new ones (a wait that ends later lets go at once). */
  close(): Promise<LockRecord[]> {
    this.#closed = true;
    return this.releaseAll();
  }

  /** Releases every hold of this server; returns the records released. */
  async releaseAll(): Promise<LockRecord[]> {
    const released: LockRecord[] = [];
    for (const name of this.names()) {
      try {
        released.push((await this.release(name)).lock);
      } catch (error) {
        if (!(error instanceof NotFoundError)) this.#onError(error);
      }
    }
    return released;
  }
}
