/**
 * Shared by `lock` and `guard`: one attempt or a wait, with signals turned into an abort and
 * progress lines on stderr; blocked outcomes become typed errors.
 */

import { InterruptedError } from "../errors.ts";
import type { AcquireRequest, BlockedOutcome, HeldOutcome } from "../locks/acquire.ts";
import { describeBlocker, formatDuration } from "../locks/describe.ts";
import { blockedError } from "../locks/errors.ts";
import { phase } from "../phases.ts";
import { type Printed, PROGRESS_COMMAND_CHARS, progressDue } from "./progress.ts";
import type { Session } from "./session.ts";

/** One line saying what a waiter waits for (also the MCP server's progress message). */
export function waitingFor(name: string, outcome: BlockedOutcome, nowMs: number): string {
  switch (outcome.kind) {
    case "held":
      return describeBlocker(name, outcome.blocker, nowMs, {
        commandChars: PROGRESS_COMMAND_CHARS,
      });
    case "frozen":
      return blockedError(name, outcome, nowMs).message;
    case "queued":
      return `${outcome.ahead.length} waiter(s) ahead in the queue for "${name}"`;
  }
}

/** What a progress line is about: it changes when the holder (or what blocks) changes. */
export function blockerKey(outcome: BlockedOutcome): string {
  switch (outcome.kind) {
    case "held":
      return outcome.blocker.kind === "lock" ? outcome.blocker.lock.lockId : "unreadable";
    case "frozen":
      return `frozen:${outcome.freeze?.lockId ?? "?"}`;
    case "queued":
      return `queued:${outcome.ahead[0]?.seq}`;
  }
}

/** Options of {@link acquireOrWait}. */
export interface AcquireCliOptions {
  wait: boolean;
  timeoutMs?: number;
  quiet: boolean;
}

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/** Attempts once, or waits; returns the held outcome or throws the blocking reason. */
export async function acquireOrWait(
  session: Session,
  req: AcquireRequest,
  options: AcquireCliOptions,
): Promise<HeldOutcome & { waitedMs: number }> {
  const locks = await session.locks();
  if (!options.wait) {
    const held = await locks.hold(req, { wait: false });
    phase("acquired");
    return held;
  }

  const abort = new AbortController();
  let caught: Deno.Signal | undefined;
  const listeners = SIGNALS.map((signal) => {
    const listener = () => {
      caught ??= signal;
      abort.abort();
    };
    try {
      Deno.addSignalListener(signal, listener);
    } catch {
      return undefined; // not available on this platform
    }
    return { signal, listener };
  });

  let printed: Printed | undefined;
  try {
    const held = await locks.hold(req, {
      wait: true,
      timeoutMs: options.timeoutMs,
      signal: abort.signal,
      noWatch: session.world.env("LOKT_NO_WATCH") === "1",
      onBlocked: (blocked, waitedMs) => {
        if (options.quiet) return;
        const key = blockerKey(blocked);
        const now = session.world.now();
        const due = progressDue(printed, key, now);
        if (due === undefined) return;
        const prefix = due === "start" ? "waiting" : `still waiting (${formatDuration(waitedMs)})`;
        session.err(`lokt: ${prefix}: ${waitingFor(req.name, blocked, now)}\n`);
        printed = { key, atMs: now };
      },
    });
    phase("acquired");
    return held;
  } catch (error) {
    // The only abort here is a signal's: say which.
    if (error instanceof InterruptedError && caught !== undefined) {
      throw new InterruptedError(caught);
    }
    throw error;
  } finally {
    for (const entry of listeners) {
      if (entry) Deno.removeSignalListener(entry.signal, entry.listener);
    }
  }
}
