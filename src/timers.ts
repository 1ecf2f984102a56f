/**
 * A timer that costs nothing to set up. Deno 2's global `setTimeout` is Node's (it returns a
 * `Timeout` object), and the first touch of it, even `clearTimeout(undefined)`, loads that
 * machinery: measured, about 4 ms in a fresh process, a quarter of an empty `deno run`, paid by
 * every guard. `AbortSignal.timeout` runs on the web timers Deno has loaded already, and behaves
 * as `setTimeout` does for the event loop: while a listener waits for it, it keeps the process
 * alive; once the listener is removed, it no longer does. But a cancelled one stays in memory until
 * its time comes: {@link timeout} suits timers that mostly fire or are cancelled once (a lease
 * check, the KILL after a grace period); {@link Alarm} suits a loop that sets a timer at every turn
 * and cancels it at every wake-up (a waiter's poll, a follower's), which with {@link timeout}
 * would pile up cancelled timers (20,000 wake-ups kept 4 MB).
 *
 * @module
 */

/** Cancels a timer; calling it after the timer fired, or twice, does nothing. */
export type Cancel = () => void;

/**
 * Calls `fn` once, about `ms` milliseconds from now, unless cancelled first. Like `setTimeout`,
 * the timer keeps the process alive until it fires or is cancelled.
 */
export function timeout(fn: () => void, ms: number): Cancel {
  const signal = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
  const listener = () => fn();
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/**
 * One timer that a loop sets and clears at every turn. It listens to one `AbortSignal.timeout` at
 * a time: setting it again for a time no earlier than that signal's reuses the signal, which, when
 * it fires before the time set, arms the rest; only a time earlier than the pending signal's makes
 * a new one (the old one lingers, unheard, until its own time). So a loop that wakes a thousand
 * times a second for a poll of 100 ms makes about ten signals a second, not a thousand, and memory
 * stays flat however long it waits. Set, it keeps the process alive as `setTimeout` does; cleared,
 * not.
 */
export class Alarm {
  readonly #fn: () => void;
  /** When `fn` is due (`performance.now()`), or undefined when cleared. */
  #due?: number;
  #signal?: AbortSignal;
  /** When {@link #signal} fires (`performance.now()`). */
  #signalAt = 0;
  #listening = false;
  readonly #listener = () => this.#fired();

  /** An alarm that calls `fn` when it goes off; it starts cleared. */
  constructor(fn: () => void) {
    this.#fn = fn;
  }

  /** Calls `fn` about `ms` milliseconds from now (not when set before), unless cleared first. */
  set(ms: number): void {
    const now = performance.now();
    this.#due = now + Math.max(0, ms);
    // A signal that went off while cleared, nobody listening, is spent.
    const pending = this.#signal !== undefined && !this.#signal.aborted;
    if (pending && this.#signalAt <= this.#due) {
      this.#listen();
      return;
    }
    this.#arm(this.#due - now);
  }

  /** Stops the alarm; clearing it again, or after it went off, does nothing. */
  clear(): void {
    this.#due = undefined;
    if (this.#listening) this.#signal?.removeEventListener("abort", this.#listener);
    this.#listening = false;
  }

  #arm(ms: number): void {
    if (this.#listening) this.#signal?.removeEventListener("abort", this.#listener);
    this.#listening = false;
    const delay = Math.min(Math.ceil(ms), 2 ** 31 - 1);
    this.#signal = AbortSignal.timeout(delay);
    this.#signalAt = performance.now() + delay;
    this.#listen();
  }

  #listen(): void {
    if (this.#listening) return;
    this.#signal?.addEventListener("abort", this.#listener, { once: true });
    this.#listening = true;
  }

  #fired(): void {
    this.#signal = undefined;
    this.#listening = false;
    const due = this.#due;
    if (due === undefined) return;
    const left = due - performance.now();
    if (left > 0) return this.#arm(left);
    this.#due = undefined;
    this.#fn();
  }
}
