/**
 * A wake-up source for loops that poll: file-system events on the paths it is told to watch, or
 * nothing (polling only). Used by a waiter watching the lock files and the queue, and by the audit
 * follower watching the log's directory.
 *
 * @module
 */

import { Alarm } from "./timers.ts";

/**
 * Rings on the file-system events a caller cares about; {@link Doorbell.wait} resolves on a ring,
 * a timeout or an abort. The watch can move to other paths. A path already gone when its watch
 * starts rings at once (what the caller waits for may have happened); a watch that fails or ends
 * by itself rings too, and leaves the caller polling.
 */
export class Doorbell {
  #rang = false;
  #wake?: () => void;
  readonly #alarm = new Alarm(() => this.#wake?.());
  #watcher?: Deno.FsWatcher;
  #enabled: boolean;

  /** With `enabled` false, nothing is ever watched: every wait runs to its timeout or abort. */
  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** Whether file-system events are being watched (else the caller should poll more often). */
  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  /** Watches `paths` instead of what was watched; rings on the events `relevant` accepts. */
  watch(paths: string[], relevant: (event: Deno.FsEvent) => boolean): void {
    this.close();
    if (!this.#enabled) return;
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(paths, { recursive: false });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) this.#ring();
      else this.#enabled = false; // out of inotify instances, or no watcher: poll
      return;
    }
    this.#watcher = watcher;
    (async () => {
      for await (const event of watcher) {
        if (relevant(event)) this.#ring();
      }
    })().catch(() => {}).finally(() => {
      if (this.#watcher !== watcher) return; // closed to move the watch
      this.#watcher = undefined;
      this.#enabled = false;
      this.#ring();
    });
  }

  #ring(): void {
    this.#rang = true;
    this.#wake?.();
  }

  /** Resolves after `ms`, or on a relevant event or abort, whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#rang || signal?.aborted) {
      this.#rang = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        this.#alarm.clear();
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        this.#rang = false;
        resolve();
      };
      this.#alarm.set(ms);
      this.#wake = done;
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Stops watching. */
  close(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    try {
      watcher?.close();
    } catch {
      // already closed
    }
  }
}
