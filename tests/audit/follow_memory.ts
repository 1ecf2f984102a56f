/**
 * A probe for follow_memory_test.ts, run with `--v8-flags=--expose-gc`: follows an audit log while
 * this process appends a fixed number of lines to it through the real writer, rotating every few
 * dozen lines and keeping four rotated files, and prints what a full garbage collection leaves on the heap, and how many
 * descriptors of log files and watchers are open, after a warm-up and at the end, as one JSON line.
 */

import { followAudit } from "../../src/audit/follow.ts";
import { readAudit } from "../../src/audit/reader.ts";
import { AuditWriter } from "../../src/audit/writer.ts";

const [rounds, perRound, warmupRounds] = Deno.args.map(Number);
/** Lines appended before waiting for the follower: a few, as lock operations come. */
const BATCH = 5;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

const dir = Deno.makeTempDirSync({ prefix: "lokt-follow-memory-" });
const log = `${dir}/audit.log`;
const writer = new AuditWriter(log, { maxBytes: 8 * 1024, keep: 4 }, (m) => {
  throw new Error(m);
});
let seen = 0;
let caughtUp: { lines: number; resolve(): void } | undefined;
const abort = new AbortController();
const following = followAudit(log, readAudit(log).end, {
  signal: abort.signal,
  onEvent: () => {
    if (++seen === caughtUp?.lines) caughtUp.resolve();
  },
});

/** Resolves once the follower has seen `lines` lines; fails after 30 s. */
function followed(lines: number): Promise<void> {
  if (seen >= lines) return Promise.resolve();
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(
    () => reject(new Error(`the follower saw ${seen} of ${lines} lines`)),
    30_000,
  );
  caughtUp = { lines, resolve };
  return promise.finally(() => clearTimeout(timer));
}

/** Descriptors of the log's files (pruned ones included) and file-system watchers. */
function followerDescriptors(): number | undefined {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/fd")];
  } catch {
    return undefined; // not Linux
  }
  return entries.filter((entry) => {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      return target.startsWith(`${dir}/`) || target === "anon_inode:inotify";
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/**
 * Descriptors that stay open: the fewest of several looks a few milliseconds apart. Deno's watcher
 * thread briefly opens the files an event names (to match them to the watched paths), so one look
 * can count a descriptor that is not the follower's; a leaked one is there at every look.
 */
async function lastingDescriptors(): Promise<number | undefined> {
  let fewest = followerDescriptors();
  for (let look = 1; look < 10 && fewest !== undefined; look++) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    fewest = Math.min(fewest, followerDescriptors()!);
  }
  return fewest;
}

async function measure() {
  const fds = await lastingDescriptors();
  gc!();
  return { heapUsed: Deno.memoryUsage().heapUsed, fds, lines: seen };
}

let written = 0;
let warm: Awaited<ReturnType<typeof measure>> | undefined;
try {
  for (let round = 1; round <= rounds; round++) {
    // In batches smaller than a file, so that the follower keeps up and no file is pruned unread.
    for (let i = 0; i < perRound; i++, written++) {
      writer.append({
        ts: Date.UTC(2026, 0, 1) + written,
        event: "acquire",
        name: `name-${written % 7}`,
        actor: { owner: "tester", host: "here", pid: Deno.pid, agentId: "memory" },
        extra: { seq: written },
      });
      if (i % BATCH === BATCH - 1) await followed(written + 1);
    }
    await followed(written);
    if (round === warmupRounds) warm = await measure();
  }
  console.log(JSON.stringify({ warm, end: await measure() }));
} finally {
  abort.abort();
  await following;
  Deno.removeSync(dir, { recursive: true });
}
