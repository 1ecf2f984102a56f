/**
 * Taking a name for a caller, as `lokt lock`, `lokt guard` and the library's `acquire` do: one
 * attempt, or a wait; the name held, or a typed error that says why not.
 */

import { InterruptedError } from "../errors.ts";
import { type AcquireRequest, type HeldOutcome, isHold, tryAcquire } from "./acquire.ts";
import type { LockContext } from "./context.ts";
import { blockedError, WaitTimeoutError } from "./errors.ts";
import type { WaitOptions } from "./wait.ts";
import { lazy } from "../lazy.ts";

/** How to take a name. */
export interface HoldOptions extends Omit<WaitOptions, "random"> {
  /** Wait for the name (first come, first served) instead of failing at once. */
  wait: boolean;
}

/**
 * Takes `req.name`: once, or waiting as `options` say. Throws the blocking reason as a typed
 * error ({@link LockHeldError}, {@link FrozenError}, {@link QueuedError}), a
 * {@link WaitTimeoutError}, or an {@link InterruptedError} carrying the abort's reason.
 */
export async function hold(
  ctx: LockContext,
  req: AcquireRequest,
  options: HoldOptions,
): Promise<HeldOutcome & { waitedMs: number }> {
  if (!options.wait) {
    const outcome = await tryAcquire(ctx, { ...req, denyEvent: "deny" });
    if (isHold(outcome)) return { ...outcome, waitedMs: 0 };
    throw blockedError(req.name, outcome, ctx.now());
  }
  // Loaded only for a wait, so that a single attempt does not pay for it.
  const { acquireWaiting }: typeof import("./wait.ts") = await import(lazy("./wait.ts"));
  const outcome = await acquireWaiting(ctx, req, options);
  switch (outcome.kind) {
    case "timeout":
      throw new WaitTimeoutError(
        req.name,
        outcome.waitedMs,
        blockedError(req.name, outcome.last, ctx.now()),
      );
    case "aborted":
      throw new InterruptedError({ aborted: options.signal?.reason });
    default:
      return outcome;
  }
}
