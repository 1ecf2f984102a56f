/**
 * The audit log under a storm: many processes change locks and rotate a tiny log at once while
 * workers are killed. Each worker keeps its own journal of the changes it made, written after
 * each change; every journal entry must be found in the log. A worker killed between a change
 * and its journal line only shortens its journal, so the check (journal within log) stays sound.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { decodeEventLine } from "../../src/audit/event.ts";
import { rotatedLogs } from "../../src/audit/writer.ts";
import { describeStorm, NOT_LINUX, runStorm } from "./harness.ts";
import type { JournalEntry } from "./protocol.ts";

const NAMES = ["alpha", "beta", "gamma"];

interface LogLines {
  files: number;
  lines: number;
  unparsable: string[];
  events: Record<string, unknown>[];
}

function readLogs(path: string): LogLines {
  const paths = [...rotatedLogs(path).map((r) => r.path), path];
  const out: LogLines = { files: paths.length, lines: 0, unparsable: [], events: [] };
  for (const file of paths) {
    for (const line of Deno.readTextFileSync(file).split("\n")) {
      if (line === "") continue;
      out.lines++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== "object" || parsed === null || decodeEventLine(line) === undefined) {
        out.unparsable.push(`${file}: ${line}`);
        continue;
      }
      out.events.push(parsed as Record<string, unknown>);
    }
  }
  return out;
}

function readJournals(dir: string): { entries: JournalEntry[]; torn: number } {
  const entries: JournalEntry[] = [];
  let torn = 0;
  for (const file of Deno.readDirSync(dir)) {
    const lines = Deno.readTextFileSync(`${dir}/${file.name}`).split("\n");
    for (const [i, line] of lines.entries()) {
      if (line === "") continue;
      try {
        entries.push(JSON.parse(line));
      } catch (error) {
        // Only the last line of a killed worker's journal may be cut short.
        if (i !== lines.length - 1) throw error;
        torn++;
      }
    }
  }
  return { entries, torn };
}

/** The changes journaled so far, by kind (a takeover is an acquisition that replaced a lock). */
function journaled(dir: string): Record<JournalEntry["op"] | "takeover", number> {
  const counts = { acquire: 0, takeover: 0, renew: 0, release: 0 };
  for (const entry of readJournals(dir).entries) {
    counts[entry.op]++;
    if (entry.op === "acquire" && entry.replaced !== null) counts.takeover++;
  }
  return counts;
}

Deno.test({
  name:
    "after a storm of 16 processes every audit line parses and no lock change is missing from the log",
  ignore: NOT_LINUX,
}, async () => {
  using dir = tempDir("lokt-races-");
  const root = `${dir.path}/root`;
  const witnessDir = `${dir.path}/witness`;
  const journalDir = `${dir.path}/journals`;
  const layout = layoutOf(root);
  ensureLayout(layout);
  Deno.mkdirSync(witnessDir);
  Deno.mkdirSync(journalDir);

  // The work: 500 acquisitions (3 of them takeovers), 20 renewals and 400 releases journaled (or,
  // should some kind stop happening, 5,000 acquisitions), however long a busy machine takes.
  const done = () => {
    const n = journaled(journalDir);
    return n.acquire >= 500 && n.takeover >= 3 && n.renew >= 20 && n.release >= 400 ||
      n.acquire >= 5_000;
  };
  const result = await runStorm({
    workers: 16,
    until: done,
    killEveryMs: [150, 600],
    dieEveryMs: [200, 800],
    config: (agent) => ({
      root,
      names: NAMES,
      agent,
      witnessDir,
      holdMaxMs: 3,
      waitShare: 0.3,
      waitMaxMs: 50,
      renewShare: 0.3,
      denyShare: 0.2,
      // About a dozen lines per file: the log rotates hundreds of times, under contention.
      audit: { maxBytes: 4096, keep: 100_000 },
      journal: `${journalDir}/${agent}.jsonl`,
    }),
  });
  const t0 = performance.now();
  const log = readLogs(layout.audit);
  const { entries, torn } = readJournals(journalDir);
  console.log(
    `audit storm, 16 workers on ${NAMES.length} names, ${describeStorm(result)}; ` +
      `${log.lines} audit lines in ${log.files} files, ${entries.length} journal entries ` +
      `(${torn} torn), checked in ${(performance.now() - t0).toFixed(0)} ms`,
  );

  assertEquals(result.errors, [], "worker errors");
  assertEquals(result.overlaps, [], "two holders inside a critical section");
  assertEquals(log.unparsable, [], "audit lines that do not parse");
  assert(log.files >= 20, `only ${log.files - 1} rotations`);

  const ids = (event: string) =>
    new Set(log.events.filter((e) => e.event === event).map((e) => e.lock_id));
  const acquired = ids("acquire");
  const pruned = ids("auto-prune");
  const renewed = ids("renew");
  const released = ids("release");
  const missing: string[] = [];
  const counts = { acquire: 0, takeover: 0, renew: 0, release: 0 };
  for (const entry of entries) {
    const miss = (what: string) => missing.push(`${what}: ${JSON.stringify(entry)}`);
    counts[entry.op]++;
    if (entry.op === "acquire") {
      if (!acquired.has(entry.lock_id)) miss("no acquire event");
      if (entry.replaced !== null) {
        counts.takeover++;
        if (!pruned.has(entry.replaced)) miss("no auto-prune event of the replaced lock");
      }
    } else if (entry.op === "renew") {
      if (!renewed.has(entry.lock_id)) miss("no renew event");
    } else if (!released.has(entry.lock_id)) {
      miss("no release event");
    }
  }
  assertEquals(missing, [], "journal entries without their audit event");
  assert(counts.acquire >= 500, `only ${counts.acquire} acquisitions journaled`);
  assert(counts.takeover >= 3, `only ${counts.takeover} takeovers journaled`);
  assert(counts.renew >= 20 && counts.release >= 400, `journal ${JSON.stringify(counts)}`);

  // Each acquisition of a name gets its own fence, also when it took over a dead holder's lock.
  const fences = new Set<string>();
  for (const e of log.events.filter((e) => e.event === "acquire")) {
    const key = `${e.name}#${e.fence}`;
    assert(!fences.has(key), `fence ${key} handed out twice`);
    fences.add(key);
  }
});
