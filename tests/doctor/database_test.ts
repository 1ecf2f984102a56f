/**
 * Doctor's pure judgements of the backend: which one is chosen, and of a PostgreSQL database the
 * round trip, the clock skew, the schema version, the privileges and the notifications.
 */

import type { DatabaseFacts } from "../../src/backends/postgres/inspect.ts";
import { REQUIRED_PRIVILEGES } from "../../src/backends/postgres/schema.ts";
import { backendCheck, databaseChecks } from "../../src/doctor/backend.ts";
import {
  clockSkewCheck,
  compareSchema,
  connectionCheck,
  estimateSkew,
  median,
  notificationsCheck,
  privilegesCheck,
  roundTripCheck,
  schemaCheck,
  type SchemaComparison,
} from "../../src/doctor/database.ts";
import { UsageError } from "../../src/errors.ts";
import { assertEquals, assertMatch } from "../helpers/assert.ts";

const URL_SHOWN = "postgres://lokt:***@db.internal/lokt";

function facts(extra: Partial<DatabaseFacts> = {}): DatabaseFacts {
  return {
    connectMs: 12,
    supportedSchema: 1,
    server: { user: "lokt", database: "lokt", version: "16.2", readOnly: false },
    roundTripsMs: [0.4, 0.5, 0.3, 0.6, 0.4],
    clock: [{ sentMs: 1_000_000, roundTripMs: 0.4, databaseMs: 1_000_000.2 }],
    schema: { kind: "at", version: 1 },
    canCreate: false,
    privileges: REQUIRED_PRIVILEGES.map((required) => ({ required, granted: true })),
    notify: { kind: "delivered" },
    ...extra,
  };
}

Deno.test("the median is the middle value, or the mean of the two middle ones", () => {
  assertEquals(median([5, 1, 3]), 3);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([7]), 7);
});

Deno.test("round trip: a median above 20 ms warns, since every lock operation takes two", () => {
  const table: [number[], string][] = [
    [[0.3, 0.4, 0.5, 0.4, 0.6], "ok"],
    [[1, 20, 20, 20, 90], "ok"],
    [[1, 21, 22, 23, 2], "warn"],
    [[200, 210, 190, 205, 220], "warn"],
  ];
  for (const [samples, status] of table) {
    const c = roundTripCheck(samples);
    assertEquals(c.status, status, `${samples}: ${c.message}`);
    assertEquals(c.id, "round_trip");
    assertEquals(c.hint === "", status === "ok");
  }
  assertMatch(roundTripCheck([30, 30, 30]).message, /median 30ms .* about 60ms/);
});

Deno.test("clock skew is read from the quickest round trip, at its middle", () => {
  const { skewMs, uncertaintyMs } = estimateSkew([
    { sentMs: 1_000, roundTripMs: 40, databaseMs: 5_000 },
    { sentMs: 2_000, roundTripMs: 4, databaseMs: 2_502 },
    { sentMs: 3_000, roundTripMs: 10, databaseMs: 3_700 },
  ]);
  assertEquals([skewMs, uncertaintyMs], [500, 2]);
});

Deno.test("clock skew: ok up to 1 s, warns above, fails above 10 s, beyond the uncertainty", () => {
  const table: [skewMs: number, uncertaintyMs: number, status: string][] = [
    [0, 0.1, "ok"],
    [-999, 0.1, "ok"],
    [1_000, 0, "ok"],
    [1_001, 0, "warn"],
    [-1_500, 0.1, "warn"],
    [1_500, 600, "ok"], // a slow reading cannot tell 1.5 s from 0.9 s
    [10_000, 0, "warn"],
    [10_001, 0, "fail"],
    [-60_000, 5, "fail"],
  ];
  for (const [skewMs, uncertaintyMs, status] of table) {
    const c = clockSkewCheck(skewMs, uncertaintyMs);
    assertEquals(c.status, status, `${skewMs} ± ${uncertaintyMs}: ${c.message}`);
    assertEquals(c.hint === "", status === "ok");
  }
  assertMatch(clockSkewCheck(-1_500, 0.1).message, /1\.5s behind this host's/);
  assertMatch(clockSkewCheck(12_000, 0.1).message, /12s ahead of .*leases run on the database/);
});

Deno.test("schema versions compare as same, newer, older or invalid", () => {
  const table: [number, SchemaComparison][] = [
    [1, "same"],
    [2, "newer"],
    [0, "invalid"],
    [Number.NaN, "invalid"],
    [1.5, "invalid"],
  ];
  for (const [found, expected] of table) {
    assertEquals(compareSchema(found, 1), expected, `${found}`);
  }
  assertEquals(compareSchema(1, 2), "older");
});

Deno.test("schema: missing and the same version are ok, a newer one fails with the upgrade hint", () => {
  assertEquals(schemaCheck({ kind: "missing" }, 1).status, "ok");
  assertEquals(schemaCheck({ kind: "at", version: 1 }, 1).status, "ok");
  assertEquals(schemaCheck({ kind: "at", version: 1 }, 2).status, "ok", "older: used as it is");
  const newer = schemaCheck({ kind: "at", version: 3 }, 1);
  assertEquals(newer.status, "fail");
  assertMatch(newer.message, /version 3, newer than this lokt's 1/);
  assertMatch(newer.hint, /upgrade lokt/);
  assertEquals(schemaCheck({ kind: "at", version: Number.NaN }, 1).status, "fail");
  assertEquals(schemaCheck({ kind: "unreadable" }, 1).status, "fail");
});

Deno.test("privileges: every one granted is ok; each one missing is named with the GRANT to run", () => {
  assertEquals(privilegesCheck(facts()).status, "ok");
  const lacking = facts({
    server: { user: "ro user", database: "lokt", version: "16", readOnly: false },
    privileges: REQUIRED_PRIVILEGES.map((required) => ({
      required,
      granted: required.privilege === "SELECT" || required.privilege === "EXECUTE" ||
          required.kind === "schema"
        ? true
        : required.object === "lokt.audit_id_seq"
        ? null
        : false,
    })),
  });
  const c = privilegesCheck(lacking);
  assertEquals(c.status, "fail");
  assertMatch(c.message, /^ro user lacks 14 privilege\(s\) lokt needs: INSERT on lokt\.meta, /);
  assertMatch(c.hint, /GRANT USAGE ON SCHEMA lokt TO "ro user"/);
  const missing = c.details.missing as string[];
  assertEquals(missing.includes("USAGE on sequence lokt.tickets_seq_seq"), true);
  assertEquals(missing.includes("lokt.audit_id_seq (it does not exist)"), true);
});

Deno.test("privileges: a missing schema needs CREATE on the database; a read-only server fails", () => {
  const missing = { schema: { kind: "missing" } as const, privileges: undefined };
  assertEquals(privilegesCheck(facts({ ...missing, canCreate: true })).status, "ok");
  const cannot = privilegesCheck(facts({ ...missing, canCreate: false }));
  assertEquals(cannot.status, "fail");
  assertMatch(cannot.message, /schema lokt does not exist, and lokt may not create it/);
  assertMatch(cannot.hint, /^GRANT CREATE ON DATABASE "lokt" TO "lokt"/);
  const standby = privilegesCheck(
    facts({ server: { user: "lokt", database: "lokt", version: "16", readOnly: true } }),
  );
  assertEquals(standby.status, "fail");
  assertMatch(standby.hint, /primary/);
});

Deno.test("notifications: delivered is ok, lost warns (polling), an error fails", () => {
  assertEquals(notificationsCheck({ kind: "delivered" }).status, "ok");
  const lost = notificationsCheck({ kind: "lost", waitedMs: 2_000 });
  assertEquals(lost.status, "warn");
  assertMatch(lost.message, /did not arrive within 2s/);
  assertEquals(notificationsCheck({ kind: "error", problem: "permission denied" }).status, "fail");
});

Deno.test("connection: a database that cannot be used fails with the masked URL and the cause; the rest is not checked", () => {
  const checks = databaseChecks({
    kind: "unavailable",
    url: URL_SHOWN,
    problem: 'database "nosuch" does not exist',
    hint: "check the database name",
    elapsedMs: 30,
  }, 5_000);
  assertEquals(checks.map((c) => [c.id, c.status]), [
    ["connection", "fail"],
    ["round_trip", "ok"],
    ["clock_skew", "ok"],
    ["schema", "ok"],
    ["privileges", "ok"],
    ["notifications", "ok"],
  ]);
  assertEquals(
    checks[0].message,
    `cannot connect to ${URL_SHOWN}: database "nosuch" does not exist`,
  );
  assertEquals(checks[0].hint, "check the database name");
  assertEquals(checks.slice(1).every((c) => c.details.skipped === true), true);
});

Deno.test("a step that failed after connecting fails its check once; the later ones are not checked", () => {
  const checks = databaseChecks({
    kind: "connected",
    url: URL_SHOWN,
    facts: {
      ...facts(),
      schema: undefined,
      privileges: undefined,
      notify: undefined,
      failure: { step: "reading the schema version", problem: "connection reset" },
    },
  }, 5_000);
  assertEquals(checks.map((c) => [c.id, c.status]), [
    ["connection", "ok"],
    ["round_trip", "ok"],
    ["clock_skew", "ok"],
    ["schema", "fail"],
    ["privileges", "ok"],
    ["notifications", "ok"],
  ]);
  assertMatch(checks[3].message, /reading the schema version failed: connection reset/);
  assertMatch(
    checks[0].message,
    /^connected as lokt to database lokt \(PostgreSQL 16\.2\) in 12ms$/,
  );
  assertEquals(
    connectionCheck({ kind: "connected", url: URL_SHOWN, facts: facts() }, 5_000)
      .details.url,
    URL_SHOWN,
  );
});

Deno.test("backend: which one, where, and where the choice came from; a bad choice fails", () => {
  const files = backendCheck({
    kind: "files",
    info: { kind: "files", location: "/repo/.git/lokt", source: "default" },
  });
  assertEquals([files.status, files.message], ["ok", "files at /repo/.git/lokt (default)"]);
  const pg = backendCheck({
    kind: "postgres",
    url: "postgres://lokt:secret@db.internal/lokt",
    namespace: "acme/web",
    info: {
      kind: "postgres",
      location: URL_SHOWN,
      namespace: "acme/web",
      source: "LOKT_BACKEND",
      namespaceSource: "LOKT_NAMESPACE",
    },
  });
  assertEquals(pg.status, "ok");
  assertEquals(
    pg.message,
    `PostgreSQL at ${URL_SHOWN} (LOKT_BACKEND), namespace acme/web (LOKT_NAMESPACE)`,
  );
  assertEquals(pg.details.namespace_source, "LOKT_NAMESPACE");
  const bad = backendCheck({
    kind: "invalid",
    error: new UsageError("LOKT_BACKEND=mysql://x names no backend lokt knows", "use files"),
  });
  assertEquals([bad.status, bad.hint], ["fail", "use files"]);
});
