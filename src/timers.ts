/**
 * A timer that costs nothing to set up. Deno 2's global `setTimeout` is Node's (it returns a
 * `Timeout` object), and the first touch of it, even `clearTimeout(undefined)`, loads that
 * machinery: measured, about 4 ms in a fresh process, a quarter of an empty `deno run`, paid by
 * every guard. `AbortSignal.timeout` runs on the web timers Deno has loaded already, and behaves
 * as `setTimeout` does for the event loop: while a listener waits for it, it keeps the process
 * alive; once the listener is removed, it no longer does. But a cancelled one stays in memory until
 * its time comes: it suits timers that mostly fire or are cancelled once (a lease check, the KILL
 * after a grace period), not one cancelled at every wake-up of a loop (the doorbell's poll keeps
 * the global `setTimeout`: 20,000 wake-ups kept 4 MB).
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
