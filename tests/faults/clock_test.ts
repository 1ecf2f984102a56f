/**
 * Fault: the wall clock jumps. The CLI runs in-process with a clock the test sets, against real
 * lock files and real processes. A TTL is measured on the wall clock, so:
 * - a jump back never lets anyone take a lock over (the TTL only seems longer);
 * - a jump forward past the expiry makes a lock that only has a TTL stale, exactly as if the time
 *   had passed; locks backed by a live process (a guard, `lock --pid` without a TTL) stay held.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import {
  auditEvents,
  holderEnv,
  lokt,
  loktInProcess,
  platformProbe,
  tempDir,
} from "../helpers/cli.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
const probe = platformProbe();

/** A lock root and a CLI whose clock the test moves. */
function world(root: string) {
  let now = Date.now();
  return {
    set(ms: number) {
      now = ms;
    },
    get now() {
      return now;
    },
    run(args: string[], agent: string) {
      return loktInProcess(args, { env: holderEnv(root, agent), now: () => now, probe });
    },
  };
}

function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["60"], stdout: "null", stderr: "null" }).spawn();
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await child.status;
}

Deno.test("a clock jumping back never lets a TTL lock be taken over or broken as stale", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const clock = world(root);
  const start = clock.now;
  assertEquals((await clock.run(["lock", "x", "--ttl", "1m"], "agent-a")).code, 0);

  for (const back of [MINUTE, 3_600_000, 365 * DAY]) {
    clock.set(start - back);
    const taken = await clock.run(["lock", "x"], "agent-b");
    assertEquals(taken.code, 2, `${back} ms back: ${taken.stderr}`);
    assertMatch(
      taken.stderr,
      /^error: lock "x" held by tester@\S+ \(agent agent-a\) for 0s \(stamped [\dhms.]+ ahead of this machine's clock\), expires in /m,
    );
    const broken = await clock.run(["unlock", "x", "--break-stale"], "agent-b");
    assertEquals(broken.code, 2, broken.stderr);
    assertMatch(broken.stderr, /is not stale \(ttl running\)/);
    const status = await clock.run(["status", "x"], "agent-b");
    assertMatch(status.stdout, /^state:\s+live \(TTL running\)/m);
  }
  // Back at the real time the lock is as it was; the holder still owns it.
  clock.set(start + 30_000);
  assertEquals((await clock.run(["lock", "x"], "agent-b")).code, 2);
  assertEquals((await clock.run(["unlock", "x"], "agent-a")).code, 0);
  assert(
    !auditEvents(root).some((e) => ["auto-prune", "stale-break"].includes(e.event as string)),
    "nothing was pruned or broken",
  );
});

Deno.test("after the clock is set back, ages are never negative: status, status NAME, why, and their JSON", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const clock = world(root);
  const start = clock.now;
  assertEquals((await clock.run(["lock", "x", "--ttl", "1h"], "agent-a")).code, 0);
  assertEquals((await clock.run(["freeze", "f", "--ttl", "1h"], "agent-a")).code, 0);
  clock.set(start - 3 * MINUTE);
  const ahead = /0s \(stamped 3m0s ahead of this machine's clock\)/;
  const outputs = [
    await clock.run(["status"], "agent-b"),
    await clock.run(["status", "x"], "agent-b"),
    await clock.run(["why", "x"], "agent-b"),
    await clock.run(["why", "f"], "agent-b"),
  ];
  for (const { stdout } of outputs) {
    assert(!/(?:^|[\s(:])-\d/m.test(stdout), `a negative number in:\n${stdout}`);
    assertMatch(stdout, ahead);
  }
  const listed = JSON.parse((await clock.run(["status", "--json"], "agent-b")).stdout);
  assertEquals(listed.locks[0].age_sec, 0);
  assertEquals(listed.freezes[0].age_sec, 0);
  const why = JSON.parse((await clock.run(["why", "x", "--json"], "agent-b")).stdout);
  assertEquals([why.reasons[0].holder_age_sec, why.holder.age_sec], [0, 0]);
  const frozen = JSON.parse((await clock.run(["why", "f", "--json"], "agent-b")).stdout);
  assertEquals(frozen.reasons[0].freeze_age_sec, 0);
});

Deno.test("a clock jumping forward past the TTL makes a TTL-only lock stale: the next lock takes it over", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const clock = world(root);
  assertEquals((await clock.run(["lock", "x", "--ttl", "1m"], "agent-a")).code, 0);

  clock.set(clock.now + 59_000); // not yet
  assertEquals((await clock.run(["lock", "x"], "agent-b")).code, 2);
  clock.set(clock.now + 2_000); // past the expiry, whether by time or by a jump
  const taken = await clock.run(["lock", "x"], "agent-b");
  assertEquals(taken.code, 0, taken.stderr);
  assertMatch(taken.stdout, /took over a stale lock of tester@\S+ \(expired\)/);
  assertEquals(auditEvents(root).map((e) => e.event), ["acquire", "deny", "auto-prune", "acquire"]);
});

Deno.test("a lock that follows a live process (--pid, no TTL) stays held across a forward jump", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const clock = world(root);
  const holder = sleeper();
  try {
    const took = await clock.run(["lock", "x", "--pid", String(holder.pid)], "agent-a");
    assertEquals(took.code, 0, took.stderr);
    clock.set(clock.now + 10 * 365 * DAY);
    const denied = await clock.run(["lock", "x"], "agent-b");
    assertEquals(denied.code, 2, denied.stderr);
    const status = await clock.run(["status", "x"], "agent-b");
    assertMatch(status.stdout, /^state:\s+live \(holder process alive\)/m);
  } finally {
    await stop(holder);
  }
  // The process, not the clock, ends it.
  const taken = await clock.run(["lock", "x"], "agent-b");
  assertEquals(taken.code, 0, taken.stderr);
  assertMatch(taken.stdout, /took over a stale lock .*\(dead\)/);
});

Deno.test("a --pid lock that also has a TTL ends at the TTL, on the wall clock, even if its process lives", async () => {
  using dir = tempDir("lokt-fault-");
  const clock = world(`${dir.path}/root`);
  const holder = sleeper();
  try {
    const took = await clock.run(
      ["lock", "x", "--pid", String(holder.pid), "--ttl", "1m"],
      "agent-a",
    );
    assertEquals(took.code, 0, took.stderr);
    clock.set(clock.now + 2 * MINUTE);
    const taken = await clock.run(["lock", "x"], "agent-b");
    assertEquals(taken.code, 0, taken.stderr);
    assertMatch(taken.stdout, /took over a stale lock .*\(expired\)/);
  } finally {
    await stop(holder);
  }
});

Deno.test("a guard's lock stays held across a forward jump past its TTL while the guard runs", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const clock = world(root);
  const env = holderEnv(root, "agent-g");
  const guard = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../main.ts", import.meta.url).pathname,
      "guard",
      "x",
      "--ttl",
      "1m",
      "--",
      "sleep",
      "60",
    ],
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // The guard holds the name once its lock file appears (exists answers 0).
    for (let i = 0; i < 200 && (await lokt(["exists", "x"], { env })).code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    clock.set(clock.now + 365 * DAY);
    const denied = await clock.run(["lock", "x"], "agent-b");
    assertEquals(denied.code, 2, denied.stderr);
    assertMatch(denied.stderr, /TTL overdue by .*\(guard alive\)/);
    const status = await clock.run(["status", "x"], "agent-b");
    assertMatch(status.stdout, /^state:\s+live \(guard running\)/m);
  } finally {
    guard.kill("SIGTERM"); // the guard stops its command and releases the lock
    await guard.status;
  }
});
