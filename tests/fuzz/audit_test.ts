/**
 * Fuzz: the audit reader. A line decodes to an event or to nothing, never to an exception; every
 * event lokt writes is one line that reads back as itself; a log of good lines, junk, blank
 * lines and half-written fragments, spread over rotated files, reads back as exactly its good
 * lines, in order.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  type AuditEvent,
  decodeEventLine,
  encodeEvent,
  EVENT_NAMES,
} from "../../src/audit/event.ts";
import {
  type AuditFilter,
  matchesFilter,
  parseTimeBound,
  readAudit,
} from "../../src/audit/reader.ts";
import { fuzz, NASTY_CHARS, type Rng } from "./prng.ts";

const FILE = "tests/fuzz/audit_test.ts";
const NOW = Date.UTC(2026, 10, 22, 5, 0, 0);

function text(rng: Rng): string {
  return rng.string([..."abcXYZ019-_.@: ", ...NASTY_CHARS, "\u2028", "\u2029"], 16);
}

function extraValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0:
      return text(rng);
    case 1:
      return rng.pick([0, -1, 1.5, 2 ** 53, 1e300, true, false, null]);
    case 2:
      return rng.int(100_000);
    case 3:
      return "";
    case 4:
      return Array.from({ length: rng.int(3) }, () => extraValue(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(3) }, () => [text(rng), extraValue(rng, depth + 1)]),
      );
  }
}

/** An event as lokt could build it. */
function event(rng: Rng): AuditEvent {
  return {
    ts: rng.pick([NOW, NOW + rng.int(1e9), 0, rng.range(-8.64e15, 8.64e15)]),
    event: rng.pick(EVENT_NAMES),
    name: text(rng),
    actor: { owner: text(rng), host: text(rng), pid: rng.int(4_194_304), agentId: text(rng) },
    lockId: rng.chance(0.7) ? rng.string("0123456789abcdef", 32) : undefined,
    ttlMs: rng.chance(0.5) ? rng.range(1, 1e10) : undefined,
    fence: rng.chance(0.5) ? rng.int(2 ** 31) : undefined,
    extra: rng.chance(0.5) ? extraValue(rng) as Record<string, unknown> : undefined,
  };
}

/** A line that may or may not be an event: valid, mutated, retyped, truncated or junk. */
function line(rng: Rng): string {
  const valid = encodeEvent(event(rng)).slice(0, -1);
  switch (rng.int(6)) {
    case 0:
      return valid;
    case 1:
      return valid.slice(0, rng.int(valid.length));
    case 2: {
      const body = JSON.parse(valid);
      const field = rng.pick(["ts", "event", "name", "owner", "pid", "extra", text(rng)]);
      if (rng.chance(0.3)) delete body[field];
      else {
        body[field] = rng.pick([
          null,
          1,
          "",
          [],
          {},
          "2026-02-30T00:00:00Z",
          "+275760-09-13T00:00:00.001Z",
          "yesterday",
          text(rng),
        ]);
      }
      return JSON.stringify(body);
    }
    case 3: {
      const chars = [...valid];
      for (let i = rng.range(1, 3); i > 0; i--) {
        chars.splice(rng.int(chars.length + 1), rng.int(2), rng.pick(NASTY_CHARS));
      }
      return chars.join("");
    }
    case 4:
      return rng.pick(["", " ", "\t", "{}", "[]", "null", "42", '"x"', "{", "\r"]);
    default:
      return new TextDecoder().decode(rng.bytes(rng.length(80)));
  }
}

Deno.test("fuzz: any line decodes to an event with a real time, or to nothing", async () => {
  let decoded = 0;
  const report = await fuzz("audit/decode", line, (input) => {
    const result = decodeEventLine(input);
    if (result === undefined) return;
    decoded++;
    assert(Number.isFinite(result.tsMs), `time ${result.tsMs}`);
    for (const key of ["event", "name", "owner"] as const) {
      assertEquals(typeof result[key], "string", key);
    }
    assertEquals(result.line, input.trim());
    assert(typeof result.record === "object" && result.record !== null);
  }, { file: FILE });
  if (report.cases >= 1000) assert(decoded > 0, "the generator never produced a valid line");
});

Deno.test("fuzz: every event lokt writes is one line that reads back as itself", async () => {
  await fuzz("audit/round-trip", event, (input) => {
    const encoded = encodeEvent(input);
    assertEquals(encoded.indexOf("\n"), encoded.length - 1, "exactly one newline, at the end");
    const back = decodeEventLine(encoded);
    assert(back !== undefined, "did not decode");
    assertEquals(
      [back.tsMs, back.event, back.name, back.owner],
      [Math.floor(input.ts), input.event, input.name, input.actor.owner],
    );
    assertEquals(back.record.extra, JSON.parse(JSON.stringify(input.extra ?? {})));
  }, { file: FILE });
});

Deno.test("fuzz: a time bound is a real time or a reason", async () => {
  await fuzz(
    "audit/time-bound",
    (rng) =>
      rng.chance(0.5)
        ? rng.pick(["2026-11-22", "2026-11-22T05:00:00", "90m", "2d", "+275760-09-13"]) + text(rng)
        : text(rng),
    (input) => {
      const bound = parseTimeBound(input, NOW);
      if ("ms" in bound) assert(Number.isFinite(bound.ms), `${input} -> ${bound.ms}`);
      else assert(bound.problem.length > 0);
    },
    { file: FILE },
  );
});

interface Log {
  /** Contents of audit.log.1 ... audit.log.N, then audit.log (undefined: no live file). */
  rotated: string[];
  live?: string;
  filter: AuditFilter;
  limit?: number;
}

function logFile(rng: Rng): string {
  const lines = Array.from({ length: rng.int(12) }, () => line(rng));
  // A writer that died mid-line leaves a fragment with no newline.
  return lines.join("\n") + (lines.length > 0 && rng.chance(0.7) ? "\n" : "");
}

function log(rng: Rng): Log {
  return {
    rotated: Array.from({ length: rng.int(4) }, () => logFile(rng)),
    live: rng.chance(0.9) ? logFile(rng) : undefined,
    filter: {
      sinceMs: rng.chance(0.2) ? NOW - rng.int(1e9) : undefined,
      untilMs: rng.chance(0.2) ? NOW + rng.int(1e9) : undefined,
      events: rng.chance(0.2) ? [rng.pick(EVENT_NAMES), rng.pick(EVENT_NAMES)] : undefined,
    },
    limit: rng.chance(0.3) ? rng.int(5) : undefined,
  };
}

Deno.test("fuzz: a log of good lines, junk and fragments over rotated files reads back as its good lines", async () => {
  using dir = tempDir("lokt-fuzz-");
  await fuzz("audit/read", log, (input, index) => {
    const root = `${dir.path}/c${index}`;
    Deno.mkdirSync(root);
    try {
      input.rotated.forEach((body, i) =>
        Deno.writeTextFileSync(`${root}/audit.log.${i + 1}`, body)
      );
      if (input.live !== undefined) Deno.writeTextFileSync(`${root}/audit.log`, input.live);
      const read = readAudit(`${root}/audit.log`, { filter: input.filter, limit: input.limit });

      // The oracle: rotated files are complete; the live file's unterminated tail is unread.
      // Lone surrogates were written as U+FFFD, so the oracle reads what was written.
      const written = (body: string) => new TextDecoder().decode(new TextEncoder().encode(body));
      const lines: string[] = [];
      for (const body of input.rotated) lines.push(...written(body).split("\n"));
      if (input.live !== undefined) {
        const live = written(input.live);
        const complete = live.slice(0, live.lastIndexOf("\n") + 1);
        lines.push(...complete.split("\n").slice(0, -1));
      }
      const nonBlank = lines.filter((l) => l.trim() !== "");
      const good = nonBlank.map(decodeEventLine).filter((e) => e !== undefined);
      const matching = good.filter((e) => matchesFilter(e, input.filter));
      const expected = input.limit === undefined
        ? matching
        : input.limit <= 0
        ? []
        : matching.slice(-input.limit);
      assertEquals(read.events.map((e) => e.line), expected.map((e) => e.line));
      assertEquals(read.skipped, nonBlank.length - good.length, "skipped lines");
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  }, { file: FILE, share: 0.2 });
});
