/** The audit reader: filters, time bounds, rotated files and skipped lines. */

import { type AuditEvent, encodeEvent, type LoggedEvent } from "../../src/audit/event.ts";
import {
  type AuditFilter,
  completeLines,
  matchesFilter,
  parseTimeBound,
  readAudit,
} from "../../src/audit/reader.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);

function event(
  ts: number,
  kind: AuditEvent["event"],
  name: string,
  owner = "ana",
): AuditEvent {
  return { ts, event: kind, name, actor: { owner, host: "box", pid: 42, agentId: "a1" } };
}

function logged(e: AuditEvent): LoggedEvent {
  const line = encodeEvent(e).trim();
  return {
    line,
    tsMs: e.ts,
    event: e.event,
    name: e.name,
    owner: e.actor.owner,
    record: JSON.parse(line),
  };
}

function write(path: string, events: AuditEvent[], extra = ""): void {
  Deno.writeTextFileSync(path, events.map(encodeEvent).join("") + extra);
}

Deno.test("filters combine: an event passes only when every criterion holds", () => {
  const e = logged(event(T0, "acquire", "build", "ana"));
  const table: [AuditFilter, boolean][] = [
    [{}, true],
    [{ name: "build" }, true],
    [{ name: "deploy" }, false],
    [{ events: ["deny", "acquire"] }, true],
    [{ events: ["deny"] }, false],
    [{ events: [] }, false],
    [{ owner: "ana" }, true],
    [{ owner: "bob" }, false],
    [{ sinceMs: T0 }, true],
    [{ sinceMs: T0 + 1 }, false],
    [{ untilMs: T0 }, true],
    [{ untilMs: T0 - 1 }, false],
    [{ name: "build", events: ["acquire"], owner: "ana", sinceMs: T0 - 1, untilMs: T0 + 1 }, true],
    [{ name: "build", events: ["acquire"], owner: "bob", sinceMs: T0 - 1 }, false],
    [{ name: "build", events: ["release"], owner: "ana" }, false],
  ];
  for (const [filter, expected] of table) {
    assertEquals(matchesFilter(e, filter), expected, JSON.stringify(filter));
  }
});

Deno.test("a time bound is a duration ago or a timestamp, UTC unless zoned", () => {
  const now = T0;
  assertEquals(parseTimeBound("90m", now), { ms: now - 90 * 60_000 });
  assertEquals(parseTimeBound("2d", now), { ms: now - 2 * 86_400_000 });
  assertEquals(parseTimeBound("2026-05-01", now), { ms: Date.UTC(2026, 4, 1) });
  assertEquals(parseTimeBound("2026-05-01T10:30:00", now), { ms: Date.UTC(2026, 4, 1, 10, 30) });
  assertEquals(parseTimeBound("2026-05-01T10:30:00Z", now), { ms: Date.UTC(2026, 4, 1, 10, 30) });
  assertEquals(parseTimeBound("2026-05-01T12:30:00+02:00", now), {
    ms: Date.UTC(2026, 4, 1, 10, 30),
  });
  for (const bad of ["yesterday", "10", "2026-13-45", ""]) {
    assert("problem" in parseTimeBound(bad, now), `${bad} is refused`);
  }
});

Deno.test("only complete lines are taken; a fragment still being written waits", () => {
  const bytes = new TextEncoder().encode('{"a":1}\n{"b":2}\n{"c"');
  const { lines, consumed } = completeLines(bytes);
  assertEquals(lines, ['{"a":1}', '{"b":2}']);
  assertEquals(consumed, 16);
  assertEquals(completeLines(new TextEncoder().encode("partial")), { lines: [], consumed: 0 });
});

Deno.test("readAudit reads rotated files oldest first, then the live log, and counts bad lines", () => {
  using dir = tempDir();
  const log = `${dir.path}/audit.log`;
  write(`${log}.2`, [event(T0 + 2, "release", "b")]);
  write(`${log}.1`, [event(T0 + 1, "acquire", "b")], "not json\n");
  write(log, [event(T0 + 3, "acquire", "c"), event(T0 + 4, "deny", "c", "bob")], '{"ts":1}\n');
  const read = readAudit(log);
  assertEquals(read.events.map((e) => `${e.event}:${e.name}`), [
    "acquire:b",
    "release:b",
    "acquire:c",
    "deny:c",
  ]);
  assertEquals(read.skipped, 2);
  assertEquals(read.files, [`${log}.1`, `${log}.2`, log]);
  assertEquals(read.end?.offset, Deno.statSync(log).size);
});

Deno.test("readAudit applies the filter, then keeps the last N matches", () => {
  using dir = tempDir();
  const log = `${dir.path}/audit.log`;
  write(`${log}.1`, [event(T0, "acquire", "a"), event(T0 + 1, "acquire", "b")]);
  write(log, [
    event(T0 + 2, "acquire", "a"),
    event(T0 + 3, "release", "a"),
    event(T0 + 4, "acquire", "a", "bob"),
  ]);
  const some = readAudit(log, { filter: { name: "a", events: ["acquire"] }, limit: 2 });
  assertEquals(some.events.map((e) => e.tsMs - T0), [2, 4]);
  const none = readAudit(log, { filter: { owner: "carol" } });
  assertEquals([none.events.length, none.skipped], [0, 0]);
});

Deno.test("a log caught mid-rotation (live file also linked as audit.log.N) is read once", () => {
  using dir = tempDir();
  const log = `${dir.path}/audit.log`;
  write(`${log}.1`, [event(T0, "acquire", "a")]);
  write(log, [event(T0 + 1, "release", "a")]);
  Deno.linkSync(log, `${log}.2`);
  const read = readAudit(log);
  assertEquals(read.events.map((e) => e.event), ["acquire", "release"]);
});

Deno.test("readAudit of a root without a log finds nothing and creates nothing", () => {
  using dir = tempDir();
  const log = `${dir.path}/missing/audit.log`;
  const read = readAudit(log);
  assertEquals([read.events.length, read.files.length, read.end], [0, 0, undefined]);
  assertEquals([...Deno.readDirSync(dir.path)].length, 0);
});
