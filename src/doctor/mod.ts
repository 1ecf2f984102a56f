/**
 * `lokt doctor`: checks that lokt can work reliably with this backend and machine, and lists what
 * needs attention. Every check reports ok, warn or fail with a hint. Read-only, except for a
 * probe file that the writability check creates in `tmp/` and removes at once; the root is never
 * created, and no symbolic link in it is followed (the layout check reports them). On PostgreSQL
 * the database is checked instead of the root, and never written to. The outside world comes in
 * through {@link DoctorInputs}.
 *
 * @module
 */

import type { BackendInfo } from "../backends/backend.ts";
import type { BackendChoice } from "../backends/factory.ts";
import type { Inspection } from "../backends/postgres/inspect.ts";
import { LoktError } from "../errors.ts";
import { backendCheck, type ChosenBackend, databaseChecks, unusedRootCheck } from "./backend.ts";
import type { LockContext } from "../locks/context.ts";
import { listAll, type Listing } from "../locks/inspect.ts";
import type { RootInfo } from "../root.ts";
import { judgeAudit, measureAudit } from "./audit_log.ts";
import { type Check, check, type CheckStatus, countStatuses } from "./check.ts";
import { FUTURE_TOLERANCE_MS, type FutureRecord, judgeClock, sampleClock } from "./clock.ts";
import { fileSystemCheck } from "./filesystem.ts";
import { layoutCheck, scanLayout } from "./layout.ts";
import { guardRulesCheck, type HookPresence } from "./guard_rules.ts";
import type { ProjectConfig } from "../config/project.ts";
import { identityCheck, type IdentityFacts } from "./identity.ts";
import { corruptCheck, namesCheck, orphanTmpCheck, queueCheck, staleCheck } from "./leftovers.ts";
import { askProbe, judgeLiveness } from "./liveness.ts";
import {
  judgePermissions,
  readModes,
  rootCheck,
  type RootState,
  rootState,
  writableCheck,
} from "./root.ts";

export { type Check, type CheckStatus } from "./check.ts";
export { backendDetails, type ChosenBackend } from "./backend.ts";
export { type IdentityFacts } from "./identity.ts";
export { type HookPresence } from "./guard_rules.ts";

/** Everything doctor reads from outside. */
export interface DoctorInputs {
  /** The backend chosen, or the error choosing one raised. */
  backend: ChosenBackend;
  /** Reads the lock database's health (called for PostgreSQL only). */
  inspectDatabase: (choice: Extract<BackendChoice, { kind: "postgres" }>) => Promise<Inspection>;
  /** The database's connect timeout, as shown. */
  connectTimeoutMs: number;
  root: RootInfo;
  /** A read-only lock context for the root (its audit sink is never used). */
  ctx: LockContext;
  identity: IdentityFacts;
  os: string;
  pid: number;
  /** The process's user id, null where there is none (Windows). */
  uid: number | null;
  /** The rotation cap in force. */
  auditMaxBytes: number;
  /** Monotonic clock, milliseconds. */
  monotonic: () => number;
  /** Wall-clock time at which {@link monotonic} read zero. */
  timeOrigin: number;
  sleep: (ms: number) => Promise<void>;
  /** Reads a text file, undefined when it cannot (used for `/proc/self/mountinfo`). */
  readText: (path: string) => string | undefined;
  /** Starts a short process and returns its pid once it has exited and been reaped. */
  exitedPid: () => Promise<number | undefined>;
  /** The repository's `lokt.jsonc`, as far as it could be read. */
  projectConfig: ProjectConfig;
  /** Which harnesses' project settings run lokt's hook. */
  hooks: HookPresence;
}

/** The whole report. */
export interface DoctorReport {
  /** The backend chosen; undefined when choosing one failed (the backend check says why). */
  backend?: BackendInfo;
  root: RootInfo & { exists: boolean };
  checks: Check[];
  counts: Record<CheckStatus, number>;
  /** No check failed. */
  ok: boolean;
}

function skipper(state: RootState): (id: string) => Check {
  const why = state === "missing"
    ? "nothing to check: the root does not exist yet"
    : "not checked: the root is not a directory";
  return (id) => check(id, "ok", why, { details: { skipped: true } });
}

function guarded(id: string, run: () => Check): Check {
  try {
    return run();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return check(id, "fail", `could not check: ${why}`, {
      hint: error instanceof LoktError && error.hint !== undefined
        ? error.hint
        : "check the root's permissions (lokt doctor's permissions line)",
    });
  }
}

function futureRecords(listing: Listing | undefined, nowMs: number): FutureRecord[] {
  if (listing === undefined) return [];
  const future: FutureRecord[] = [];
  for (const e of [...listing.locks, ...listing.freezes]) {
    if (e.state.kind !== "ok") continue;
    const ahead = e.state.lock.acquiredMs - nowMs;
    if (ahead > FUTURE_TOLERANCE_MS) future.push({ name: e.name, aheadMs: ahead });
  }
  return future;
}

/** Runs every check, in a fixed order. */
export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const chosen = inputs.backend;
  const checks = [backendCheck(chosen)];
  let rootExists = false;
  if (chosen.kind === "postgres") {
    const inspection = await inputs.inspectDatabase(chosen);
    checks.push(
      ...databaseChecks(inspection, inputs.connectTimeoutMs),
      unusedRootCheck(inputs.root),
      identityCheck(inputs.identity),
      ...await machineChecks(inputs, undefined),
      guardRulesCheck(inputs.projectConfig, inputs.hooks),
    );
  } else {
    const files = await fileChecks(inputs);
    rootExists = files.exists;
    checks.push(...files.checks);
  }
  const counts = countStatuses(checks);
  return {
    backend: chosen.kind === "invalid" ? undefined : chosen.info,
    root: { ...inputs.root, exists: rootExists },
    checks,
    counts,
    ok: counts.fail === 0,
  };
}

/** The clock and the process probe: this machine's, whatever the backend. */
async function machineChecks(inputs: DoctorInputs, records: Listing | undefined): Promise<Check[]> {
  const { ctx } = inputs;
  const sample = await sampleClock(ctx.now, inputs.monotonic, inputs.timeOrigin, inputs.sleep);
  const exited = await inputs.exitedPid();
  return [
    judgeClock(sample, futureRecords(records, sample.wallMs)),
    judgeLiveness(askProbe(ctx.probe, inputs.pid, exited), inputs.os),
  ];
}

/** The checks of the lock root and what is in it, with the machine's. */
async function fileChecks(inputs: DoctorInputs): Promise<{ checks: Check[]; exists: boolean }> {
  const { ctx, root } = inputs;
  const layout = ctx.layout;
  const state = rootState(root.path);
  const exists = state === "directory";
  const skipped = skipper(state);
  /** Checks of the root's contents run only when the root is a directory. */
  const inRoot = (id: string, run: () => Check) => exists ? guarded(id, run) : skipped(id);

  const checks: Check[] = [
    rootCheck(root, state),
    identityCheck(inputs.identity),
    inRoot("layout", () => layoutCheck(scanLayout(layout))),
    inRoot("permissions", () => judgePermissions(readModes(layout), inputs.uid, root.path)),
    inRoot("writable", () => writableCheck(layout, inputs.pid)),
    fileSystemCheck(root.path, inputs.readText("/proc/self/mountinfo")),
  ];

  // Read once: the clock check looks at acquisition times, two checks judge the records.
  let listing: Listing | Error | undefined;
  try {
    listing = exists ? listAll(ctx) : undefined;
  } catch (error) {
    listing = error instanceof Error ? error : new Error(String(error));
  }
  checks.push(...await machineChecks(inputs, listing instanceof Error ? undefined : listing));

  const judged = (judge: (l: Listing) => Check) => () => {
    if (listing instanceof Error) throw listing;
    return judge(listing!);
  };
  checks.push(
    inRoot("stale_locks", judged(staleCheck)),
    inRoot("corrupt_locks", judged(corruptCheck)),
    inRoot("orphaned_tmp", () => orphanTmpCheck(layout.tmp, ctx.now())),
    inRoot("queue", () => queueCheck(ctx, layout.queue)),
    inRoot("names", () => namesCheck(layout)),
    inRoot(
      "audit_log",
      () => judgeAudit(measureAudit(layout.audit), inputs.auditMaxBytes, layout.audit),
    ),
    guardRulesCheck(inputs.projectConfig, inputs.hooks),
  );
  return { checks, exists };
}
