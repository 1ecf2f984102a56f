/**
 * The locks one `lokt mcp` server holds for its client, on the chosen backend. Each is a
 * guard-kind lock naming the server's own process: on files, alive while the server runs,
 * whatever its TTL says, and stale at once when it is gone (SIGKILL included); on a shared
 * backend it always has a lease (30 s without a TTL), which other hosts judge it by. A keeper
 * watches each hold (renewing its lease, if it has one) and notices when it is broken or lost.
 */

import type { Keeper, Locks } from "../backends/locks.ts";
import { InterruptedError } from "../errors.ts";
import type { HeldOutcome } from "../locks/acquire.ts";
import { NotFoundError, NotOwnerError } from "../locks/errors.ts";
import type { HoldOptions } from "../locks/hold.ts";
import type { Claim } from "../locks/holder.ts";
import type { LockRecord } from "../locks/lockfile.ts";
import type { ReleaseOutcome } from "../locks/release.ts";

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
  readonly #locks: Locks;
  readonly #claim: () => Claim;
  readonly #client: () => string | undefined;
  readonly #onChange: () => void;
  readonly #onError: (error: unknown) => void;
  readonly #held = new Map<string, { lock: LockRecord; keeper: Keeper }>();
  #closed = false;

  constructor(options: {
    /** The chosen backend's lock operations, open for the server's life. */
    locks: Locks;
    /** The server as a holder: its owner, agent id, and its own process. */
    claim: () => Claim;
    /** The client's `name/version`, once known. */
    client: () => string | undefined;
    /** Called when a hold is taken, released or lost. */
    onChange: () => void;
    /** Problems that do not end a hold (a renewal that failed and will be retried). */
    onError: (error: unknown) => void;
  }) {
    this.#locks = options.locks;
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
    const outcome = await this.#locks.hold({
      name: req.name,
      kind: "guard",
      claim: this.#claim(),
      ttlMs: req.ttlMs,
      slots: req.slots,
      client: this.#client(),
    }, options);
    await this.#keep(outcome.lock);
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

  async #keep(lock: LockRecord): Promise<void> {
    const keeper: Keeper = await this.#locks.keep(lock, {
      onLost: () => {
        if (this.#held.get(lock.name)?.keeper === keeper) this.#held.delete(lock.name);
        this.#onError(
          new Error(`lock "${lock.name}" was lost (broken by someone else, or its lease ran out)`),
        );
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
      const holder = await this.#holderOf(name);
      if (holder !== undefined) {
        throw new NotOwnerError(name, holder, `this lokt mcp server (pid ${Deno.pid})`);
      }
      throw new NotFoundError(name);
    }
    this.#held.delete(name);
    await mine.keeper.stop();
    const outcome = await this.#locks.release({
      name,
      mode: "owner",
      lockId: mine.lock.lockId,
      slot: mine.lock.slot,
      slots: mine.lock.slots,
      claim: this.#claim(),
    });
    this.#onChange();
    if (outcome.kind === "released") return outcome;
    // Broken by someone else between the last check and now: it was no longer ours.
    throw new NotFoundError(name);
  }

  /** Someone's record of `name`, read without changing anything. */
  async #holderOf(name: string): Promise<LockRecord | undefined> {
    const view = await this.#locks.nameStatus(name);
    for (const entry of [view.plain, ...view.slots]) {
      if (entry.state.kind === "ok") return entry.state.lock;
    }
    return undefined;
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
