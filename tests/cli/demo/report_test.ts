/** The demo's pure parts: how it restarts itself, counts overlaps, judges and words the result. */

import { assert, assertEquals, assertMatch } from "../../helpers/assert.ts";
import {
  auditLine,
  decodeMessage,
  encodeMessage,
  eventCounts,
  outcomeLines,
  outcomeOf,
  overlaps,
  type Round,
  roundLine,
  selfCommand,
} from "../../../src/cli/demo/report.ts";
import { decodeEventLine, type LoggedEvent } from "../../../src/audit/event.ts";
import { RUN_FLAG } from "../../../src/run_flags.ts";

function round(worker: number, enterMs: number, leaveMs: number, before = 0): Round {
  return {
    worker,
    round: 1,
    fence: null,
    before,
    after: before + 1,
    waitedMs: 0,
    enterMs,
    leaveMs,
  };
}

Deno.test("a compiled lokt runs itself; otherwise deno runs the main module again", () => {
  assertEquals(
    selfCommand({
      execPath: "/usr/local/bin/lokt",
      mainModule: "file:///x/main.ts",
      standalone: true,
    }),
    { program: "/usr/local/bin/lokt", args: [] },
  );
  assertEquals(
    selfCommand({
      execPath: "/usr/bin/deno",
      mainModule: "file:///repo/main.ts",
      standalone: false,
    }),
    { program: "/usr/bin/deno", args: ["run", "-A", RUN_FLAG, "file:///repo/main.ts"] },
  );
  assertEquals(
    selfCommand({
      execPath: "/usr/bin/deno",
      mainModule: "https://jsr.io/@lokt/cli/0.1.0/mod.ts",
      standalone: false,
    }).args,
    ["run", "-A", RUN_FLAG, "https://jsr.io/@lokt/cli/0.1.0/mod.ts"],
  );
});

Deno.test("updates that follow each other do not overlap; updates in progress together do", () => {
  assertEquals(overlaps([round(1, 0, 10), round(2, 10, 20), round(3, 20, 30)]), 0);
  assertEquals(overlaps([round(1, 0, 10), round(2, 5, 15)]), 1);
  assertEquals(overlaps([round(1, 0, 30), round(2, 5, 15), round(3, 10, 20)]), 3);
  assertEquals(
    overlaps([round(2, 20, 30), round(1, 0, 25)]),
    1,
    "order of arrival does not matter",
  );
});

Deno.test("the counter is correct only when every update counted", () => {
  assertEquals(outcomeOf(12, 12), { kind: "correct", expected: 12 });
  assertEquals(outcomeOf(12, 7), { kind: "lost", expected: 12, actual: 7 });
  assertEquals(outcomeLines(outcomeOf(12, 7), false, 5), [
    "LOST UPDATES: counter is 7, expected 12 - this is what lokt prevents",
    "  5 update(s) overwritten: 5 time(s) two workers were updating at once",
  ]);
  assertMatch(outcomeLines(outcomeOf(12, 12), true, 0).join("\n"), /^correct: 12 of 12/);
  assertMatch(outcomeLines(outcomeOf(4, 4), false, 0)[1], /lucky/);
});

Deno.test("a round line shows the worker, fence, wait and update, and marks a lost one", () => {
  const locked: Round = { ...round(2, 1_153, 1_180, 6), fence: 7, waitedMs: 40 };
  assertEquals(
    roundLine(1_000, locked, false),
    "  +0.153s  [worker 2] got the lock (fence 7, waited 40ms), counter 6 -> 7",
  );
  assertEquals(
    roundLine(1_000, round(3, 1_000, 1_021, 0), true),
    "  +0.021s  [worker 3] no lock, counter 0 -> 1   <- 1 was already written: an update is lost",
  );
});

Deno.test("worker messages survive the trip and junk is not a message", () => {
  const message = { type: "round" as const, round: round(1, 5, 9) };
  assertEquals(decodeMessage(encodeMessage(message).trim()), message);
  assertEquals(decodeMessage('{"type":"ready","worker":3}'), { type: "ready", worker: 3 });
  assertEquals(decodeMessage("Download https://example.invalid/x.ts"), undefined);
  assertEquals(decodeMessage('{"type":"round"}'), undefined);
  assertEquals(decodeMessage("null"), undefined);
});

Deno.test("the audit trail names demo workers and counts events by kind", () => {
  const line = (event: string, agent: string, fence: number, extra = {}) =>
    decodeEventLine(JSON.stringify({
      ts: "2026-01-01T00:00:01.250Z",
      event,
      name: "demo",
      owner: "demo",
      agent_id: agent,
      fence,
      extra,
    }))!;
  const start = Date.parse("2026-01-01T00:00:01.000Z");
  const events: LoggedEvent[] = [
    line("acquire", "demo-worker-2", 7),
    line("wait", "demo-worker-3", 0, { queued_ahead: 2 }),
    line("release", "demo-worker-2", 7),
  ];
  assertEquals(auditLine(start, events[0]), "  +0.250s  acquire  demo  worker 2  fence 7");
  assertEquals(
    auditLine(start, events[1]),
    "  +0.250s  wait     demo  worker 3  2 ahead in the queue",
  );
  assertEquals(eventCounts(events), "1 acquire, 1 wait, 1 release");
  assert(eventCounts([]) === "");
});
