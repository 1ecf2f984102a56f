/**
 * Following the audit log: appended lines, across rotations (also several at once, and one killed
 * halfway), from where `readAudit` stopped, and with real writers racing rotations: every line is
 * followed exactly once, in log order.
 */

import { type AuditEvent, encodeEvent } from "../../src/audit/event.ts";
import { followAudit, type FollowOptions } from "../../src/audit/follow.ts";
import { type LogPosition, readAudit } from "../../src/audit/reader.ts";
import { rotatedLogs } from "../../src/audit/writer.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir, until } from "../helpers/cli.ts";

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const APPENDER = decodeURIComponent(new URL("./appender.ts", import.meta.url).pathname);

function event(name: string, kind: AuditEvent["event"] = "acquire"): AuditEvent {
  return {
    ts: T0,
    event: kind,
    name,
    actor: { owner: "ana", host: "box", pid: 42, agentId: "a1" },
  };
}

function append(path: string, ...names: string[]): void {
  const text = names.map((name) => encodeEvent(event(name))).join("");
  Deno.writeTextFileSync(path, text, { append: true, create: true });
}

/** Moves the log aside as the writer does: link it to its rotated name, remove the live name. */
function rotate(log: string, n: number): void {
  Deno.linkSync(log, `${log}.${n}`);
  Deno.removeSync(log);
}

/**
 * A writer caught between its check that `audit.log` names its file and its write: it holds the
 * file open and its shared lock, as `AuditWriter` does while it appends.
 */
function writerHolding(log: string) {
  const file = Deno.openSync(log, { append: true });
  file.lockSync(false);
  return {
    write(name: string) {
      file.writeSync(new TextEncoder().encode(encodeEvent(event(name))));
    },
    done() {
      file.close();
    },
    [Symbol.dispose]() {
      try {
        file.close();
      } catch {
        // done already
      }
    },
  };
}

/** Follows `log` from `from`, collecting event names, until `stop` is called. */
function follow(
  log: string,
  from: LogPosition | undefined,
  options: Partial<FollowOptions> = {},
): { seen: string[]; skipped: number; stop(): Promise<void> } {
  const abort = new AbortController();
  const state = {
    seen: [] as string[],
    skipped: 0,
    stop: async () => {
      abort.abort();
      await following;
    },
  };
  const following = followAudit(log, from, {
    signal: abort.signal,
    onEvent: (e) => state.seen.push(e.name),
    onSkipped: (n) => state.skipped += n,
    pollMs: 20,
    watchedPollMs: 200,
    ...options,
  });
  return state;
}

/** Waits until `seen` holds `count` names; then one more line must come next, and nothing else. */
async function expectExactly(log: string, seen: string[], expected: string[]): Promise<void> {
  await until(`${expected.length} events`, () => seen.length >= expected.length, 5_000);
  append(log, "sentinel");
  await until("the sentinel", () => seen.includes("sentinel"), 5_000);
  assertEquals(seen, [...expected, "sentinel"]);
}

for (const noWatch of [false, true]) {
  const how = noWatch ? "polling" : "watching";

  Deno.test(`following picks up appended lines, skips what the filter or parser rejects (${how})`, async () => {
    using dir = tempDir();
    const log = `${dir.path}/audit.log`;
    append(log, "old");
    const f = follow(log, readAudit(log).end, {
      noWatch,
      filter: { events: ["acquire", "release"] },
    });
    try {
      append(log, "one");
      await until("the first appended event", () => f.seen.length === 1);
      Deno.writeTextFileSync(log, encodeEvent(event("filtered-out", "deny")), { append: true });
      Deno.writeTextFileSync(log, "garbage\n", { append: true });
      Deno.writeTextFileSync(log, encodeEvent(event("two", "release")), { append: true });
      await expectExactly(log, f.seen, ["one", "two"]);
      assertEquals(f.skipped, 1);
    } finally {
      await f.stop();
    }
  });

  Deno.test(`a follower behind by two rotations reads the rest of its file, the next one, then the new log, each line once (${how})`, async () => {
    using dir = tempDir();
    const log = `${dir.path}/audit.log`;
    append(log, "old");
    const f = follow(log, readAudit(log).end, { noWatch });
    try {
      append(log, "one");
      await until("the first line", () => f.seen.length === 1);
      // All of this happens before the follower looks again.
      append(log, "two", "three");
      rotate(log, 1);
      append(log, "four", "five");
      rotate(log, 2);
      append(log, "six");
      await expectExactly(log, f.seen, ["one", "two", "three", "four", "five", "six"]);
    } finally {
      await f.stop();
    }
  });

  Deno.test(`a rotated file is read to its end once the writer still appending to it is done (${how})`, async () => {
    using dir = tempDir();
    const log = `${dir.path}/audit.log`;
    append(log, "old");
    const f = follow(log, readAudit(log).end, { noWatch });
    try {
      append(log, "one");
      await until("the first line", () => f.seen.length === 1);
      // A writer that found the log still named so, under its shared lock, is about to append.
      using late = writerHolding(log);
      rotate(log, 1);
      append(log, "two");
      late.write("late-1");
      await until("the line appended to the rotated file", () => f.seen.includes("late-1"));
      late.write("late-2");
      late.done();
      await expectExactly(log, f.seen, ["one", "late-1", "late-2", "two"]);
    } finally {
      await f.stop();
    }
  });

  Deno.test(`a file rotated after the followed one is read once the writer still appending to it is done (${how})`, async () => {
    using dir = tempDir();
    const log = `${dir.path}/audit.log`;
    append(log, "old");
    const f = follow(log, readAudit(log).end, { noWatch });
    try {
      append(log, "one");
      await until("the first line", () => f.seen.length === 1);
      rotate(log, 1);
      append(log, "two");
      using late = writerHolding(log);
      rotate(log, 2);
      append(log, "three");
      late.write("late-1");
      await until("the line appended to the rotated file", () => f.seen.includes("late-1"));
      late.write("late-2");
      late.done();
      await expectExactly(log, f.seen, ["one", "two", "late-1", "late-2", "three"]);
    } finally {
      await f.stop();
    }
  });

  Deno.test(`rotations killed between their link and their unlink are followed once (${how})`, async () => {
    using dir = tempDir();
    const log = `${dir.path}/audit.log`;
    append(log, "old");
    const f = follow(log, readAudit(log).end, { noWatch });
    try {
      append(log, "one");
      Deno.linkSync(log, `${log}.1`); // the log now under two names, still live
      await until("the first line", () => f.seen.length === 1);
      append(log, "two");
      await until("the line written to the file under both names", () => f.seen.length === 2);
      // Before the follower looks again: the next writer finishes the rotation, the new log gets
      // a line, is linked aside by a rotation killed in turn, and gets another.
      Deno.removeSync(log);
      append(log, "three");
      Deno.linkSync(log, `${log}.2`);
      append(log, "four");
      await expectExactly(log, f.seen, ["one", "two", "three", "four"]);
    } finally {
      await f.stop();
    }
  });
}

Deno.test("following from where readAudit stopped, in a file rotated since, reads each line once", async () => {
  using dir = tempDir();
  const log = `${dir.path}/audit.log`;
  append(log, "read-before");
  const from = readAudit(log).end;
  append(log, "one");
  rotate(log, 1);
  append(log, "two");
  rotate(log, 2);
  append(log, "three");
  const f = follow(log, from);
  try {
    await expectExactly(log, f.seen, ["one", "two", "three"]);
  } finally {
    await f.stop();
  }
});

Deno.test("following from where readAudit stopped, the log under two names, reads each line once", async () => {
  using dir = tempDir();
  const log = `${dir.path}/audit.log`;
  append(log, "read-before");
  Deno.linkSync(log, `${log}.1`); // a rotation killed after its link
  const from = readAudit(log).end;
  append(log, "one");
  const f = follow(log, from);
  try {
    await until("the first line", () => f.seen.length === 1);
    Deno.removeSync(log);
    append(log, "two");
    await expectExactly(log, f.seen, ["one", "two"]);
  } finally {
    await f.stop();
  }
});

Deno.test("following a root whose log does not exist yet starts at the first line written", async () => {
  using dir = tempDir();
  const log = `${dir.path}/root/audit.log`;
  const f = follow(log, readAudit(log).end);
  try {
    Deno.mkdirSync(`${dir.path}/root`);
    append(log, "first");
    await expectExactly(log, f.seen, ["first"]);
  } finally {
    await f.stop();
  }
});

/** Every line of the log, rotated files first. */
function logLines(log: string): string[] {
  return [...rotatedLogs(log).map((r) => r.path), log]
    .flatMap((p) => Deno.readTextFileSync(p).split("\n"))
    .filter((line) => line !== "");
}

for (const noWatch of [false, true]) {
  Deno.test({
    name:
      `writers racing hundreds of rotations: the follower prints every line exactly once, in each writer's order (${
        noWatch ? "polling" : "watching"
      })`,
    // The writers are separate processes; the check itself is portable, only slow elsewhere.
    ignore: Deno.build.os !== "linux",
  }, async () => {
    using dir = tempDir();
    const log = `${dir.path}/audit.log`;
    const writers = 4;
    const each = 800;
    const seen: { writer: string; seq: number; line: string }[] = [];
    const abort = new AbortController();
    const following = followAudit(log, readAudit(log).end, {
      signal: abort.signal,
      onEvent: (e) => {
        const { writer, seq } = e.record.extra as { writer: string; seq: number };
        seen.push({ writer, seq, line: e.line });
      },
      noWatch,
      pollMs: 5,
    });
    try {
      const children = Array.from({ length: writers }, (_, i) =>
        new Deno.Command(Deno.execPath(), {
          // About ten lines per file: a rotation every few appends, under contention.
          args: ["run", "-A", APPENDER, log, `w${i}`, String(each), "2048"],
          stdout: "null",
        }).output());
      for (const out of await Promise.all(children)) {
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      }
      const lines = logLines(log);
      assertEquals(lines.length, writers * each, "lines in the log");
      assert(rotatedLogs(log).length >= 100, `only ${rotatedLogs(log).length} rotations`);
      await until("the follower to catch up", () => seen.length >= lines.length, 30_000)
        .catch((error) => {
          const followed = new Set(seen.map((s) => s.line));
          const missed = lines.filter((line) => !followed.has(line));
          throw new Error(`${error.message}; never followed: ${missed.join("\n")}`);
        });
      assertEquals(seen.map((s) => s.line).sort(), lines.sort(), "followed lines");
      for (let i = 0; i < writers; i++) {
        const seqs = seen.filter((s) => s.writer === `w${i}`).map((s) => s.seq);
        assertEquals(seqs, [...seqs].sort((a, b) => a - b), `order of writer w${i}`);
      }
    } finally {
      abort.abort();
      await following;
    }
  });
}
