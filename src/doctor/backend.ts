/**
 * Doctor's checks of the chosen backend: which one and where (files: the lock root; PostgreSQL:
 * the database, whose connection, round trip, clock, schema, privileges and notifications are
 * checked from what `inspectDatabase` read).
 */

import type { BackendInfo } from "../backends/backend.ts";
import type { BackendChoice } from "../backends/factory.ts";
import type { DatabaseFacts, Inspection } from "../backends/postgres/inspect.ts";
import type { LoktError } from "../errors.ts";
import type { RootInfo } from "../root.ts";
import { type Check, check } from "./check.ts";
import {
  clockSkewCheck,
  connectionCheck,
  estimateSkew,
  notificationsCheck,
  privilegesCheck,
  roundTripCheck,
  schemaCheck,
} from "./database.ts";

/** The backend the environment or `lokt.jsonc` chooses, or the error choosing one raised. */
export type ChosenBackend = BackendChoice | { kind: "invalid"; error: LoktError };

/** The chosen backend, in snake_case for `--json`. */
export function backendDetails(info: BackendInfo): Record<string, unknown> {
  return {
    kind: info.kind,
    location: info.location,
    namespace: info.namespace,
    source: info.source,
    namespace_source: info.namespaceSource,
  };
}

/** Which backend, where, and where the choice came from. */
export function backendCheck(chosen: ChosenBackend): Check {
  switch (chosen.kind) {
    case "invalid":
      return check("backend", "fail", chosen.error.message, {
        hint: chosen.error.hint ?? "fix LOKT_BACKEND or `backend` in lokt.jsonc",
        details: { error: chosen.error.code },
      });
    case "files":
      return check(
        "backend",
        "ok",
        `files at ${chosen.info.location} (${chosen.info.source})`,
        { details: backendDetails(chosen.info) },
      );
    case "postgres":
      return check(
        "backend",
        "ok",
        `PostgreSQL at ${chosen.info.location} (${chosen.info.source}), namespace ` +
          `${chosen.namespace} (${chosen.info.namespaceSource})`,
        { details: backendDetails(chosen.info) },
      );
  }
}

/** The lock root, on a shared backend: not where locks live, so not checked. */
export function unusedRootCheck(root: RootInfo): Check {
  return check(
    "root",
    "ok",
    `not used: locks live in the lock database (with files they would be in ${root.path})`,
    { details: { path: root.path, method: root.method, detail: root.detail, used: false } },
  );
}

/** Which fact each check judges, and the check; undefined facts mean a step did not run. */
const JUDGES: [id: string, judge: (facts: DatabaseFacts) => Check | undefined][] = [
  ["round_trip", (f) => f.roundTripsMs && roundTripCheck(f.roundTripsMs)],
  ["clock_skew", (f) => {
    if (f.clock === undefined) return undefined;
    const { skewMs, uncertaintyMs } = estimateSkew(f.clock);
    return clockSkewCheck(skewMs, uncertaintyMs);
  }],
  ["schema", (f) => f.schema && schemaCheck(f.schema, f.supportedSchema)],
  [
    "privileges",
    (f) =>
      f.schema && (f.privileges || f.schema.kind === "missing") ? privilegesCheck(f) : undefined,
  ],
  ["notifications", (f) => f.notify && notificationsCheck(f.notify)],
];

/** Judges what was read of the database: connection first, then the rest. Pure. */
export function databaseChecks(inspection: Inspection, connectTimeoutMs: number): Check[] {
  const checks = [connectionCheck(inspection, connectTimeoutMs)];
  if (inspection.kind === "unavailable") {
    for (const [id] of JUDGES) {
      checks.push(check(id, "ok", "not checked: no connection", { details: { skipped: true } }));
    }
    return checks;
  }
  const { facts } = inspection;
  let failureShown = false;
  for (const [id, judge] of JUDGES) {
    const judged = judge(facts);
    if (judged !== undefined) {
      checks.push(judged);
    } else if (facts.failure !== undefined && !failureShown) {
      failureShown = true;
      checks.push(
        check(
          id,
          "fail",
          `could not check: ${facts.failure.step} failed: ${facts.failure.problem}`,
          {
            hint: "run lokt doctor again; if it persists, see the server's log",
            details: { step: facts.failure.step },
          },
        ),
      );
    } else {
      checks.push(
        check(id, "ok", "not checked: an earlier step failed", { details: { skipped: true } }),
      );
    }
  }
  return checks;
}
