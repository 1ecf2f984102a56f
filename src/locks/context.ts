import type { Actor } from "../audit/event.ts";
import type { AuditSink } from "../audit/writer.ts";
import { type ProcessProbe, processState } from "../identity/process.ts";
import type { Layout } from "./layout.ts";
import type { LockRecord } from "./lockfile.ts";
import { judge, type JudgeContext, type Verdict } from "./stale.ts";

/** The outside world a lock operation works in; tests build their own. */
export interface LockContext {
  layout: Layout;
  /** Wall clock, epoch milliseconds. */
  now: () => number;
  probe: ProcessProbe;
  audit: AuditSink;
  /** Who acts, as written to the audit log. */
  actor: Actor;
}

/** The judgement inputs for `ctx` at this moment. */
export function judgeContextOf(ctx: LockContext): JudgeContext {
  return {
    nowMs: ctx.now(),
    machine: ctx.probe.machine(),
    processState: (ref) => processState(ctx.probe, ref.pid, ref.start),
    carrier: (lockId) => ctx.probe.environmentCarrier("LOKT_LOCK_ID", lockId),
  };
}

/** Judges `lock` now. */
export function judgeNow(ctx: LockContext, lock: LockRecord): Verdict {
  return judge(lock, judgeContextOf(ctx));
}

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fresh random lock id: 32 lowercase hex digits. */
export function newLockId(): string {
  return randomHex(16);
}
