/** Signals a guard forwards to its command, and the exit code of a death by signal. */

/** Signals a guard passes on to its command (those that exist on the platform). */
export const FORWARDED_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/** Subscribes to signals; returns a function that unsubscribes. Injectable for tests. */
export type SignalSource = (
  signals: readonly Deno.Signal[],
  handler: (signal: Deno.Signal) => void,
) => () => void;

/** The process's real signals (skipping those the platform does not support). */
export function realSignals(
  signals: readonly Deno.Signal[],
  handler: (signal: Deno.Signal) => void,
): () => void {
  const installed: [Deno.Signal, () => void][] = [];
  for (const signal of signals) {
    const listener = () => handler(signal);
    try {
      Deno.addSignalListener(signal, listener);
      installed.push([signal, listener]);
    } catch {
      // not supported here (Windows has SIGINT and SIGBREAK only)
    }
  }
  return () => {
    for (const [signal, listener] of installed) Deno.removeSignalListener(signal, listener);
  };
}
