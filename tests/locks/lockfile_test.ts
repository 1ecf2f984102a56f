import { assert, assertEquals } from "../helpers/assert.ts";
import { decodeLock, encodeLock, type LockRecord } from "../../src/locks/lockfile.ts";

const record: LockRecord = {
  name: "build",
  lockId: "0123456789abcdef0123456789abcdef",
  kind: "guard",
  owner: "alice",
  host: "box",
  agentId: "session:42-7",
  pid: 4821,
  pidStart: "58035",
  pidSource: "self",
  bootId: "b1",
  pidNs: "4026531836",
  child: { pid: 4822, start: "58040" },
  command: ["make", "build"],
  acquiredMs: Date.UTC(2026, 10, 22, 5, 0, 0, 123),
  renewedMs: Date.UTC(2026, 10, 22, 5, 1, 0, 0),
  ttlMs: 300_000,
  expiresMs: Date.UTC(2026, 10, 22, 5, 6, 0, 0),
  fence: 17,
};

/**
 * Every optional field of a record. The reader sets each one, to undefined when the file leaves
 * it out; a record read back is this, overlaid with what the file holds.
 */
const UNSET: Partial<LockRecord> = {
  pidStart: undefined,
  pidSource: undefined,
  bootId: undefined,
  pidNs: undefined,
  child: undefined,
  command: undefined,
  renewedMs: undefined,
  ttlMs: undefined,
  expiresMs: undefined,
  reason: undefined,
  client: undefined,
};

Deno.test("a record survives encode then decode with the same values", () => {
  const decoded = decodeLock(encodeLock(record));
  assertEquals(decoded, { kind: "ok", lock: { ...UNSET, ...record } });
});

Deno.test("records that leave optional fields out read back with those fields undefined", () => {
  const bare: LockRecord = {
    name: "deploy",
    lockId: "fedcba9876543210fedcba9876543210",
    kind: "lock",
    owner: "bob",
    host: "box",
    agentId: "",
    pid: 0,
    acquiredMs: Date.UTC(2026, 0, 1),
    fence: 1,
  };
  const frozen: LockRecord = { ...bare, kind: "freeze", reason: "release in progress" };
  const served: LockRecord = { ...bare, kind: "guard", pid: 4821, client: "claude-code/2.0.14" };
  const childOnly: LockRecord = { ...record, child: { pid: 4822 } };
  assertEquals(decodeLock(encodeLock(bare)), { kind: "ok", lock: { ...UNSET, ...bare } });
  assertEquals(decodeLock(encodeLock(frozen)), { kind: "ok", lock: { ...UNSET, ...frozen } });
  assertEquals(decodeLock(encodeLock(served)), { kind: "ok", lock: { ...UNSET, ...served } });
  assertEquals(decodeLock(encodeLock(childOnly)), {
    kind: "ok",
    lock: { ...UNSET, ...record, child: { pid: 4822, start: undefined } },
  });
});

Deno.test("the file keeps the original tool's field names first, then lokt's own", () => {
  const keys = Object.keys(JSON.parse(encodeLock(record)));
  assertEquals(keys.slice(0, 10), [
    "version",
    "name",
    "lock_id",
    "owner",
    "host",
    "pid",
    "agent_id",
    "acquired_ts",
    "ttl_sec",
    "expires_at",
  ]);
  const body = JSON.parse(encodeLock(record));
  assertEquals(body.version, 1);
  assertEquals(body.ttl_sec, 300);
  assertEquals(body.fence, 17);
  assertEquals(body.liveness, "guard");
});

Deno.test("a lock file written by the original tool is read", () => {
  const original = `{
  "version": 1,
  "name": "foo",
  "lock_id": "6354625f00da4fb88ed328e2f262e99c",
  "owner": "root",
  "host": "vm",
  "pid": 7759,
  "pid_start_ns": 57178,
  "agent_id": "agent-1f78",
  "acquired_ts": "2026-11-22T04:08:37.120720926-05:00",
  "ttl_sec": 300
}`;
  const decoded = decodeLock(original);
  assert(decoded.kind === "ok", JSON.stringify(decoded));
  assertEquals(decoded.lock.kind, "lock");
  assertEquals(decoded.lock.owner, "root");
  assertEquals(decoded.lock.ttlMs, 300_000);
  assertEquals(decoded.lock.expiresMs, decoded.lock.acquiredMs + 300_000);
  assertEquals(decoded.lock.fence, 0);
});

Deno.test("empty, corrupt and newer-version files are told apart", () => {
  assertEquals(decodeLock(""), { kind: "empty" });
  assertEquals(decodeLock("  \n"), { kind: "empty" });
  assertEquals(decodeLock('{"version": 2, "whatever": true}'), { kind: "unsupported", version: 2 });
  const cases: [string, RegExp][] = [
    ["{not json", /not JSON/],
    ["[]", /not a JSON object/],
    ["42", /not a JSON object/],
    ["{}", /missing field "acquired_ts"/],
    ['{"version": "1"}', /version/],
    ['{"name":"x","owner":"o","host":"h","acquired_ts":"yesterday"}', /not a timestamp/],
    ['{"name":"x","owner":"o","host":"h","acquired_ts":"2026-01-01T00:00:00Z","pid":-1}', /pid/],
    [
      '{"name":"x","owner":"o","host":"h","acquired_ts":"2026-01-01T00:00:00Z","kind":"weird"}',
      /kind/,
    ],
    [
      '{"name":"x","owner":"o","host":"h","acquired_ts":"2026-01-01T00:00:00Z","command":"ls"}',
      /command/,
    ],
  ];
  for (const [text, problem] of cases) {
    const decoded = decodeLock(text);
    assert(decoded.kind === "corrupt", `${text}: ${JSON.stringify(decoded)}`);
    assert(problem.test(decoded.problem), `${text}: ${decoded.problem}`);
  }
});

Deno.test("unknown fields are ignored", () => {
  const body = JSON.parse(encodeLock(record));
  body.future_field = { anything: [1, 2, 3] };
  const decoded = decodeLock(JSON.stringify(body));
  assertEquals(decoded, { kind: "ok", lock: { ...UNSET, ...record } });
});

Deno.test("a record dated outside the years 0000-9999 is written back so that it reads the same", () => {
  for (const ts of ["+275760-09-13T00:00:00.000Z", "-000001-01-01T00:00:00.000Z"]) {
    const body = {
      ...JSON.parse(encodeLock(record)),
      acquired_ts: ts,
      expires_at: null,
      ttl_ms: null,
      ttl_sec: 0,
    };
    const first = decodeLock(JSON.stringify(body));
    assert(first.kind === "ok", `${ts}: ${JSON.stringify(first)}`);
    assertEquals(decodeLock(encodeLock(first.lock)), first, ts);
  }
});

Deno.test("a TTL too large to write back is refused as corrupt, not accepted", () => {
  const base = { ...JSON.parse(encodeLock(record)), expires_at: null, ttl_ms: null };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ttl_sec: 2 ** 53 - 1 }, /ttl_sec" is too large/],
    [{ ttl_ms: 2 ** 53 - 1 }, /beyond the last representable time/],
    [{ acquired_ts: "+275760-09-13T00:00:00.000Z", ttl_ms: 1 }, /beyond the last/],
  ];
  for (const [fields, problem] of cases) {
    const decoded = decodeLock(JSON.stringify({ ...base, ...fields }));
    assert(decoded.kind === "corrupt", `${JSON.stringify(fields)}: ${JSON.stringify(decoded)}`);
    assert(problem.test(decoded.problem), decoded.problem);
  }
});

Deno.test("a slot holder's file says its slot and the name's number of slots; a plain lock's does not", () => {
  const slotted: LockRecord = { ...record, slot: 2, slots: 3 };
  const text = encodeLock(slotted);
  const body = JSON.parse(text);
  assertEquals([body.slot, body.slots], [2, 3]);
  assertEquals(decodeLock(text), { kind: "ok", lock: { ...UNSET, ...slotted } });
  assert(!/"slot/.test(encodeLock(record)), "a plain lock keeps the format it always had");
  const one = JSON.parse(encodeLock({ ...record, slot: 1, slots: 1 }));
  assertEquals([one.slot, one.slots], [undefined, undefined], "one slot is the plain lock");
  for (const bad of [{ slot: 0, slots: 3 }, { slot: 4, slots: 3 }, { slots: 3 }]) {
    const decoded = decodeLock(JSON.stringify({ ...body, slot: undefined, ...bad }));
    assertEquals(decoded.kind, "corrupt", JSON.stringify(bad));
  }
});
