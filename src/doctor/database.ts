/**
 * Doctor's judgements of a PostgreSQL lock database, from the facts `inspectDatabase` read:
 * connection, round trip, clock skew, schema version, privileges and notifications. Pure.
 */

import type { ClockReading, DatabaseFacts, Inspection } from "../backends/postgres/inspect.ts";
import type { RequiredPrivilege } from "../backends/postgres/schema.ts";
import { formatDuration } from "../locks/describe.ts";
import { type Check, check, listNames } from "./check.ts";

/** A median round trip above this warns: every lock operation costs two. */
export const ROUND_TRIP_WARN_MS = 20;
/** Clocks further apart than this (surely, past the reading's uncertainty) warn ... */
export const SKEW_WARN_MS = 1_000;
/** ... and than this fail. */
export const SKEW_FAIL_MS = 10_000;

/** `0.4 ms`, `35ms`, `1.4s`. */
function duration(ms: number): string {
  return Math.abs(ms) < 10 ? `${(Math.round(ms * 10) / 10).toFixed(1)} ms` : formatDuration(ms);
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** Whether the database answered, and as whom. */
export function connectionCheck(inspection: Inspection, connectTimeoutMs: number): Check {
  if (inspection.kind === "unavailable") {
    return check(
      "connection",
      "fail",
      `cannot connect to ${inspection.url}: ${inspection.problem}`,
      {
        hint: inspection.hint ?? "check the server, the URL and PGPASSWORD",
        details: {
          url: inspection.url,
          problem: inspection.problem,
          elapsed_ms: round(inspection.elapsedMs),
          connect_timeout_ms: connectTimeoutMs,
        },
      },
    );
  }
  const { facts, url } = inspection;
  const details = {
    url,
    connect_ms: round(facts.connectMs),
    connect_timeout_ms: connectTimeoutMs,
    user: facts.server?.user,
    database: facts.server?.database,
    server_version: facts.server?.version,
  };
  const who = facts.server === undefined
    ? ""
    : ` as ${facts.server.user} to database ${facts.server.database} ` +
      `(PostgreSQL ${facts.server.version})`;
  return check("connection", "ok", `connected${who} in ${duration(facts.connectMs)}`, {
    details,
  });
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Judges the round trips to the database. */
export function roundTripCheck(roundTripsMs: readonly number[]): Check {
  const middle = median(roundTripsMs);
  const details = {
    median_ms: round(middle),
    samples_ms: roundTripsMs.map(round),
    warn_above_ms: ROUND_TRIP_WARN_MS,
  };
  const summary = `median ${duration(middle)} over ${roundTripsMs.length} round trips`;
  if (middle > ROUND_TRIP_WARN_MS) {
    return check(
      "round_trip",
      "warn",
      `${summary}: every lock operation takes two, about ${duration(2 * middle)}`,
      {
        hint: "run lokt close to the database (same network or region); the file backend " +
          "suits work on one machine",
        details,
      },
    );
  }
  return check("round_trip", "ok", `${summary} (a lock operation takes two)`, { details });
}

/**
 * How far the database's clock is ahead of this host's (negative: behind), from the reading
 * with the shortest round trip: the database read its clock about half-way through it, within
 * plus or minus half of it.
 */
export function estimateSkew(readings: readonly ClockReading[]): {
  skewMs: number;
  uncertaintyMs: number;
} {
  const best = readings.reduce((a, b) => (b.roundTripMs < a.roundTripMs ? b : a));
  return {
    skewMs: best.databaseMs - (best.sentMs + best.roundTripMs / 2),
    uncertaintyMs: best.roundTripMs / 2,
  };
}

/** Judges the clocks' distance; only what lies surely beyond the uncertainty counts. */
export function clockSkewCheck(skewMs: number, uncertaintyMs: number): Check {
  const surely = Math.max(0, Math.abs(skewMs) - uncertaintyMs);
  const details = {
    skew_ms: round(skewMs),
    uncertainty_ms: round(uncertaintyMs),
    warn_above_ms: SKEW_WARN_MS,
    fail_above_ms: SKEW_FAIL_MS,
  };
  const way = skewMs >= 0 ? "ahead of" : "behind";
  const message = `the database's clock is ${duration(Math.abs(skewMs))} ${way} this host's ` +
    `(±${duration(uncertaintyMs)})`;
  if (surely <= SKEW_WARN_MS) return check("clock_skew", "ok", message, { details });
  return check(
    "clock_skew",
    surely > SKEW_FAIL_MS ? "fail" : "warn",
    `${message}: leases run on the database's clock, while the durations shown here and ` +
      "guard's deadline use this host's",
    {
      hint: "synchronise both clocks (NTP: timedatectl set-ntp true here; ask the database's " +
        "operator there)",
      details,
    },
  );
}

/** How a schema version found compares with the one this lokt knows. */
export type SchemaComparison = "same" | "newer" | "older" | "invalid";

/** Compares versions. Pure. */
export function compareSchema(found: number, supported: number): SchemaComparison {
  if (!Number.isInteger(found) || found < 1) return "invalid";
  return found === supported ? "same" : found > supported ? "newer" : "older";
}

/** Judges lokt's schema as found. */
export function schemaCheck(
  schema: NonNullable<DatabaseFacts["schema"]>,
  supported: number,
): Check {
  if (schema.kind === "missing") {
    return check(
      "schema",
      "ok",
      `not created yet: lokt creates schema lokt (version ${supported}) on first use`,
      { details: { state: "missing", supported } },
    );
  }
  if (schema.kind === "unreadable") {
    return check("schema", "fail", "schema lokt exists, but this role may not read lokt.meta", {
      hint: "grant the privileges the privileges line lists",
      details: { state: "unreadable", supported },
    });
  }
  const details = { state: "present", version: schema.version, supported };
  switch (compareSchema(schema.version, supported)) {
    case "same":
      return check("schema", "ok", `version ${schema.version}, as this lokt's`, { details });
    case "older":
      return check(
        "schema",
        "ok",
        `version ${schema.version}, older than this lokt's ${supported}: used as it is`,
        { details },
      );
    case "newer":
      return check(
        "schema",
        "fail",
        `version ${schema.version}, newer than this lokt's ${supported}: this lokt refuses it`,
        { hint: "upgrade lokt on this machine to the version the other machines run", details },
      );
    case "invalid":
      return check("schema", "fail", `lokt.meta holds no valid schema version`, {
        hint: "the schema was changed by hand: restore lokt.meta's schema_version",
        details,
      });
  }
}

/** `"lokt_ro"`: an identifier as SQL writes it. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function label(p: RequiredPrivilege, granted: boolean | null): string {
  const on = p.kind === "table" ? "" : `${p.kind} `;
  return granted === null
    ? `${p.object} (it does not exist)`
    : `${p.privilege} on ${on}${p.object}`;
}

/** What the role may do, against what lokt's operations need. */
export function privilegesCheck(facts: DatabaseFacts): Check {
  const server = facts.server;
  const user = server?.user ?? "this role";
  if (server?.readOnly === true) {
    return check("privileges", "fail", "the server accepts no writes (a standby, or read-only)", {
      hint: "point the URL at the primary server",
      details: { read_only: true },
    });
  }
  if (facts.schema?.kind === "missing") {
    const details = { can_create: facts.canCreate === true, database: server?.database };
    if (facts.canCreate === true) {
      return check("privileges", "ok", `${user} may create schema lokt (needed once)`, {
        details,
      });
    }
    return check(
      "privileges",
      "fail",
      `schema lokt does not exist, and ${user} may not create it`,
      {
        hint: `GRANT CREATE ON DATABASE ${ident(server?.database ?? "DATABASE")} TO ` +
          `${ident(user)}, or use lokt once as a role that may create it`,
        details,
      },
    );
  }
  const lacking = (facts.privileges ?? []).filter((p) => p.granted !== true);
  const details = {
    missing: lacking.map((p) => label(p.required, p.granted)),
    checked: facts.privileges?.length ?? 0,
  };
  if (lacking.length > 0) {
    const who = ident(user);
    return check(
      "privileges",
      "fail",
      `${user} lacks ${lacking.length} privilege(s) lokt needs: ${listNames(details.missing, 4)}`,
      {
        hint: `GRANT USAGE ON SCHEMA lokt TO ${who}; GRANT SELECT, INSERT, UPDATE, DELETE ON ` +
          `ALL TABLES IN SCHEMA lokt TO ${who}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA lokt ` +
          `TO ${who}`,
        details,
      },
    );
  }
  return check(
    "privileges",
    "ok",
    `${user} may read and change lokt's tables and send notifications`,
    { details },
  );
}

/** Whether a notification reaches a listener: how waiters learn of a release at once. */
export function notificationsCheck(notify: NonNullable<DatabaseFacts["notify"]>): Check {
  switch (notify.kind) {
    case "delivered":
      return check("notifications", "ok", "LISTEN/NOTIFY works: a test notification arrived");
    case "lost":
      return check(
        "notifications",
        "warn",
        `a test notification did not arrive within ${formatDuration(notify.waitedMs)}: ` +
          "waiters fall back to polling, and hand-offs are slower",
        {
          hint: "connect to the server itself, or through a pooler in session mode " +
            "(LISTEN needs a session of its own)",
          details: { waited_ms: notify.waitedMs },
        },
      );
    case "error":
      return check("notifications", "fail", `LISTEN/NOTIFY failed: ${notify.problem}`, {
        hint: "every lock change sends a notification: grant EXECUTE on pg_notify, or point " +
          "the URL at the primary server",
        details: { problem: notify.problem },
      });
  }
}
