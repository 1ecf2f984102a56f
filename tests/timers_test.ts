/**
 * `timeout`: fires once after its delay, not at all once cancelled, and holds the event loop as
 * `setTimeout` does: a pending timer keeps the process alive, a cancelled one does not. `Alarm`:
 * the same for a timer set and cleared at every turn of a loop, with one pending signal at a time.
 */

import { assert, assertEquals } from "./helpers/assert.ts";
import { REPO } from "./helpers/cli.ts";
import { Alarm, timeout } from "../src/timers.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => timeout(resolve, ms));
}

/** Runs a script that imports `timeout`; returns its stdout and how long it ran. */
async function runScript(body: string): Promise<{ stdout: string; ms: number }> {
  const script = `import { Alarm, timeout } from "${REPO}/src/timers.ts";\n${body}`;
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  return { stdout: new TextDecoder().decode(output.stdout), ms: performance.now() - started };
}

Deno.test("timeout calls its function once, after the delay: a shorter timer set later fires first", async () => {
  const calls: string[] = [];
  timeout(() => calls.push("long"), 60);
  timeout(() => calls.push("short"), 1);
  await sleep(300);
  assertEquals(calls, ["short", "long"]);
});

Deno.test("timeout does not call a cancelled function, and cancelling twice is harmless", async () => {
  let called = false;
  const cancel = timeout(() => called = true, 20);
  cancel();
  cancel();
  await sleep(200);
  assertEquals(called, false);
});

Deno.test("a pending timeout keeps the process alive until it fires", async () => {
  const { stdout } = await runScript(`timeout(() => console.log("fired"), 300);`);
  assertEquals(stdout, "fired\n");
});

Deno.test("a cancelled timeout lets the process exit at once", async () => {
  const { stdout, ms } = await runScript(
    `const cancel = timeout(() => console.log("fired"), 50_000); cancel();`,
  );
  assertEquals(stdout, "");
  assert(ms < 40_000, `the process lived ${ms} ms: the cancelled timer held it`);
});

Deno.test("an alarm goes off once, at the time it was set for last: later or sooner", async () => {
  const calls: number[] = [];
  const started = performance.now();
  const later = new Alarm(() => calls.push(performance.now() - started));
  later.set(20);
  later.set(150); // postponed: the pending 20 ms signal fires first and arms the rest
  const sooner = new Alarm(() => calls.push(-(performance.now() - started)));
  sooner.set(5_000);
  sooner.set(30); // brought forward: a new signal
  await sleep(400);
  assertEquals(calls.length, 2, `calls: ${calls}`);
  const [first, second] = calls;
  assert(first < 0 && -first >= 29, `the brought-forward alarm went off at ${-first} ms`);
  assert(second >= 149, `the postponed alarm went off at ${second} ms, before 150`);
});

Deno.test("a cleared alarm stays silent, and can be set again after its signal went off unheard", async () => {
  let calls = 0;
  const alarm = new Alarm(() => calls++);
  alarm.set(10);
  alarm.clear();
  alarm.clear();
  await sleep(60); // its signal went off while nobody listened
  assertEquals(calls, 0);
  alarm.set(10);
  await sleep(100);
  assertEquals(calls, 1, "set again after its signal was spent, it never went off");
});

Deno.test("an alarm set and cleared at every turn of a loop keeps one signal pending", async () => {
  const real = AbortSignal.timeout;
  let made = 0;
  AbortSignal.timeout = (ms: number) => {
    made++;
    return real.call(AbortSignal, ms);
  };
  try {
    let calls = 0;
    const alarm = new Alarm(() => calls++);
    const started = performance.now();
    let turns = 0;
    // At least 60 turns and 300 ms, however slowly a loaded machine turns.
    while (turns < 60 || performance.now() - started < 300) {
      alarm.set(100);
      // A wake-up that is not this alarm's (the test's own timer is not counted).
      await new Promise((resolve) => setTimeout(resolve, 1));
      alarm.clear();
      turns++;
    }
    const elapsed = performance.now() - started;
    assertEquals(calls, 0);
    // A new signal only once the one before went off, 100 ms after it was made: the first, one
    // per 100 ms of the loop after it, and one to spare; not one per turn.
    const most = Math.floor(elapsed / 100) + 2;
    assert(made <= most, `${made} signals for ${turns} turns in ${elapsed.toFixed(0)} ms`);
  } finally {
    AbortSignal.timeout = real;
  }
});

Deno.test("a set alarm keeps the process alive until it goes off; a cleared one does not", async () => {
  const set = await runScript(
    `const a = new Alarm(() => console.log("rang")); a.set(5_000); a.set(200);`,
  );
  assertEquals(set.stdout, "rang\n");
  const cleared = await runScript(
    `const a = new Alarm(() => console.log("rang")); a.set(50_000); a.clear();`,
  );
  assertEquals(cleared.stdout, "");
  assert(cleared.ms < 40_000, `the process lived ${cleared.ms} ms: the cleared alarm held it`);
});
