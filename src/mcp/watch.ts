/**
 * Watching the lock root for `lokt://status` subscribers: file-system events on `locks/`,
 * `freezes/` and `queue/` ring a doorbell, and the status is compared with the last one sent;
 * a slow poll covers what makes no file event (a holder that dies, a TTL that runs out) and
 * file systems without events. Only what a subscriber would see change counts: who holds what,
 * liveness, waiters; not ages and remaining times, which change every second. On a shared
 * backend there are no files to watch: the poll alone compares its snapshots every second.
 */

import { Doorbell } from "../doorbell.ts";

/** How often the status is compared without any file event. */
export const STATUS_POLL_MS = 1_000;

/** The part of a `status --json` object whose change is worth a notification. */
export function statusSignature(status: Record<string, unknown>): string {
  const rows = (key: string) =>
    ((status[key] as Record<string, unknown>[] | undefined) ?? []).map((r) =>
      [r.name, r.lock_id, r.state, r.reason, r.waiters, r.expires_at, r.problem].join("|")
    );
  return JSON.stringify([rows("locks"), rows("freezes"), rows("unreadable"), status.strays]);
}

/** Calls `changed` whenever the status differs from the last one seen, until stopped. */
export class StatusWatch {
  readonly #bell: Doorbell;
  readonly #abort = new AbortController();
  #running?: Promise<void>;
  readonly #started = Promise.withResolvers<void>();
  #pending = false;
  #wakeNow?: () => void;

  constructor(
    readonly dirs: string[],
    readonly snapshot: () => Record<string, unknown> | Promise<Record<string, unknown>>,
    readonly changed: () => void,
    options: { noWatch?: boolean } = {},
  ) {
    this.#bell = new Doorbell(!options.noWatch);
  }

  /**
   * Starts watching (once); resolves once the first status is read, so that every change after
   * that is compared with it (a shared backend's status is read asynchronously).
   */
  start(): Promise<void> {
    this.#running ??= this.#loop().catch(() => {}).finally(() => this.#started.resolve());
    return this.#started.promise;
  }

  /** Compares now, as after a file event (the server changed something itself). */
  poke(): void {
    this.#pending = true;
    this.#wakeNow?.();
  }

  async #loop(): Promise<void> {
    let last = await Promise.resolve().then(this.snapshot).then(statusSignature, () => "");
    this.#started.resolve();
    const signal = this.#abort.signal;
    // A watch that fails or ends leaves the doorbell polling: no event is lost, only later.
    this.#bell.watch(this.dirs, () => true);
    while (!signal.aborted) {
      const poked = new AbortController();
      this.#wakeNow = () => poked.abort();
      if (!this.#pending) {
        await this.#bell.wait(STATUS_POLL_MS, AbortSignal.any([signal, poked.signal]));
      }
      this.#pending = false;
      if (signal.aborted) break;
      // A snapshot that fails (the database away for a moment) is tried again at the next turn.
      let now: string;
      try {
        now = statusSignature(await this.snapshot());
      } catch {
        continue;
      }
      if (now !== last) {
        last = now;
        this.changed();
      }
    }
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#bell.close();
    await this.#running;
  }
}
