/**
 * Wake-ups from LISTEN/NOTIFY: one listening connection per backend, shared by every watch.
 * Each committed change of a name is announced on one channel with the payload
 * `namespace \n name`; a watch counts the announcements of its name, so that one sent between
 * an attempt and the wait after it is not lost. Notifications are a hint, never the truth: a
 * waiter also polls (a listening connection that dropped misses what was sent meanwhile).
 */

import { Alarm } from "../../timers.ts";
import type { Watch } from "../backend.ts";
import type { Sql } from "./client.ts";

interface Watched {
  count: number;
  refs: number;
  wakers: Set<() => void>;
}

/** The listening side of one backend. */
export class Notifications {
  readonly #sql: Sql;
  readonly #channel: string;
  readonly #prefix: string;
  readonly #watched = new Map<string, Watched>();
  #listening?: Promise<{ unlisten(): Promise<void> }>;

  constructor(sql: Sql, channel: string, namespace: string) {
    this.#sql = sql;
    this.#channel = channel;
    this.#prefix = `${namespace}\n`;
  }

  #notified(payload: string): void {
    if (!payload.startsWith(this.#prefix)) return;
    const entry = this.#watched.get(payload.slice(this.#prefix.length));
    if (entry === undefined) return;
    entry.count++;
    for (const wake of entry.wakers) wake();
  }

  /** Starts counting the changes of `name`; resolves once the server listens. */
  async watch(name: string): Promise<Watch> {
    if (this.#listening === undefined) {
      this.#listening = this.#sql.listen(this.#channel, (payload) => this.#notified(payload));
      this.#listening.catch(() => this.#listening = undefined);
    }
    await this.#listening;
    let entry = this.#watched.get(name);
    if (entry === undefined) {
      entry = { count: 0, refs: 0, wakers: new Set() };
      this.#watched.set(name, entry);
    }
    entry.refs++;
    const watched = entry;
    let seen = watched.count;
    let disposed = false;
    let timedOut: (() => void) | undefined;
    const alarm = new Alarm(() => timedOut?.());
    return {
      changed: (timeoutMs, signal) =>
        new Promise<boolean>((resolve) => {
          if (watched.count > seen) {
            seen = watched.count;
            return resolve(true);
          }
          if (signal?.aborted) return resolve(false);
          const done = (changed: boolean) => {
            alarm.clear();
            timedOut = undefined;
            watched.wakers.delete(wake);
            signal?.removeEventListener("abort", aborted);
            seen = watched.count;
            resolve(changed);
          };
          const wake = () => done(true);
          const aborted = () => done(false);
          timedOut = aborted;
          alarm.set(timeoutMs);
          watched.wakers.add(wake);
          signal?.addEventListener("abort", aborted, { once: true });
        }),
      [Symbol.dispose]: () => {
        if (disposed) return;
        disposed = true;
        if (--watched.refs === 0) this.#watched.delete(name);
      },
    };
  }

  /** Stops listening. */
  close(): void {
    this.#listening?.then((l) => l.unlisten()).catch(() => {});
    this.#listening = undefined;
  }
}
