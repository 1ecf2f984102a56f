/** End-to-end: `lokt demo` runs real worker processes against the real lock engine. */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, tempDir } from "../helpers/cli.ts";

interface Update {
  worker: number;
  fence?: number;
  before: number;
  after: number;
}

function updates(stdout: string): Update[] {
  const found: Update[] = [];
  for (const line of stdout.split("\n")) {
    const locked = line.match(
      /\[worker (\d+)\] got the lock \(fence (\d+)[^)]*\), counter (\d+) -> (\d+)/,
    );
    const unlocked = line.match(/\[worker (\d+)\] no lock, counter (\d+) -> (\d+)/);
    if (locked) {
      const [, worker, fence, before, after] = locked.map(Number);
      found.push({ worker, fence, before, after });
    } else if (unlocked) {
      const [, worker, before, after] = unlocked.map(Number);
      found.push({ worker, before, after });
    }
  }
  return found;
}

function workDir(stdout: string): string {
  const match = stdout.match(/\(working in (.+), removed at the end\)/);
  assert(match, `no working directory in:\n${stdout}`);
  return match[1];
}

Deno.test("demo with the lock: 4 workers x 3 rounds serialize every update and the counter ends at 12", async () => {
  using dir = tempDir();
  const env = holderEnv(`${dir.path}/unused-root`, "demo-test");
  const result = await lokt(["demo", "--workers", "4", "--rounds", "3"], { env });
  assertEquals(result.code, 0, result.stdout + result.stderr);
  assertMatch(result.stdout, /^correct: 12 of 12 updates counted, counter is 12$/m);
  assertMatch(result.stdout, /no two updates ever overlapped/);

  const seen = updates(result.stdout);
  assertEquals(seen.length, 12, result.stdout);
  // One worker at a time: each update starts from the value the previous one wrote, under a
  // strictly higher fence. (Lines come through four pipes: sort them by fence.)
  seen.sort((a, b) => a.fence! - b.fence!);
  seen.forEach((update, i) => {
    assertEquals([update.before, update.after], [i, i + 1], result.stdout);
    assertEquals(update.fence, i + 1, result.stdout);
  });
  for (const worker of [1, 2, 3, 4]) {
    assertEquals(seen.filter((u) => u.worker === worker).length, 3, result.stdout);
  }

  assertMatch(result.stdout, /audit trail: \d+ events in audit\.log \(.*12 acquire.*\)/);
  assertMatch(result.stdout, /release +demo +worker \d +fence 12/);
  let removed = false;
  try {
    Deno.statSync(workDir(result.stdout));
  } catch (error) {
    removed = error instanceof Deno.errors.NotFound;
  }
  assert(removed, "the demo's temporary directory is removed");
});

Deno.test("demo --no-lock shows the lost updates that the lock prevents, and still exits 0", async () => {
  using dir = tempDir();
  const env = holderEnv(`${dir.path}/unused-root`, "demo-test");
  // The workers start together and pause between read and write, so overlaps are near certain;
  // a few attempts keep a rare clean run from failing the test, which still fails if the
  // corruption never shows.
  const attempts: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await lokt(["demo", "--no-lock"], { env });
    assertEquals(result.code, 0, result.stdout + result.stderr);
    assertEquals(updates(result.stdout).length, 12, result.stdout);
    const lost = result.stdout.match(
      /^LOST UPDATES: counter is (\d+), expected 12 - this is what lokt prevents$/m,
    );
    if (lost) {
      assert(Number(lost[1]) < 12, result.stdout);
      assertMatch(result.stdout, /<- \d+ was already written: an update is lost/);
      assertMatch(result.stdout, /audit trail: empty/);
      return;
    }
    attempts.push(result.stdout);
  }
  throw new Error(`three --no-lock runs lost no update:\n${attempts.join("\n---\n")}`);
});

Deno.test("demo refuses out-of-range worker counts as a usage error", async () => {
  using dir = tempDir();
  const env = holderEnv(`${dir.path}/root`, "demo-test");
  const result = await lokt(["demo", "--workers", "0"], { env });
  assertEquals(result.code, 64);
  assertMatch(result.stderr, /--workers: 0 is out of range/);
});

Deno.test("demo with a shared backend chosen runs in its own sandbox and never connects", async () => {
  using dir = tempDir();
  // A database that cannot be reached: the demo would fail if its workers tried it.
  const env = holderEnv(`${dir.path}/unused-root`, "demo-test", {
    LOKT_BACKEND: "postgres://lokt@127.0.0.1:1/lokt",
    LOKT_NAMESPACE: "acme/web",
  });
  const result = await lokt(["demo", "--workers", "2", "--rounds", "2"], { env });
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /release +demo +worker \d +fence 4/);
});
