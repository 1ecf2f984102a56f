/**
 * `timeout`: fires once after its delay, not at all once cancelled, and holds the event loop as
 * `setTimeout` does: a pending timer keeps the process alive, a cancelled one does not.
 */

import { assert, assertEquals } from "./helpers/assert.ts";
import { REPO } from "./helpers/cli.ts";
import { timeout } from "../src/timers.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => timeout(resolve, ms));
}

/** Runs a script that imports `timeout`; returns its stdout and how long it ran. */
async function runScript(body: string): Promise<{ stdout: string; ms: number }> {
  const script = `import { timeout } from "${REPO}/src/timers.ts";\n${body}`;
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
