import { parseHaltTarget } from "../../src/testing/halt.ts";
import { assertEquals } from "../helpers/assert.ts";

const FIXTURE = new URL("./halt_fixture.ts", import.meta.url).pathname;

async function runFixture(haltAt?: string, permissions = ["-A"], args: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, FIXTURE, ...args],
    stdin: "null",
    env: haltAt === undefined ? {} : { LOKT_HALT_AT: haltAt },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    signal: out.signal,
    stdout: decoder.decode(out.stdout).trim().split("\n"),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test("LOKT_HALT_AT names a point and the visit to stop at, one by default", () => {
  const cases: [string | undefined, ReturnType<typeof parseHaltTarget>][] = [
    [undefined, null],
    ["", null],
    ["  ", null],
    ["store.publish.after-link", { point: "store.publish.after-link", n: 1 }],
    ["store.publish.after-link:3", { point: "store.publish.after-link", n: 3 }],
    [" audit.rotate.locked:2 ", { point: "audit.rotate.locked", n: 2 }],
    ["a:0", null],
    ["a:x", null],
    ["a:1:2", null],
    [":2", null],
  ];
  for (const [text, expected] of cases) assertEquals(parseHaltTarget(text), expected, text);
});

Deno.test("a process without LOKT_HALT_AT passes every halt point", async () => {
  const run = await runFixture();
  assertEquals(run.signal, null);
  assertEquals(run.stdout, ["reach a", "reach b", "reach a", "reach a", "done"]);
});

Deno.test("a process dies of SIGKILL at the first visit of the named point", async () => {
  const run = await runFixture("b");
  assertEquals(run.signal, "SIGKILL");
  assertEquals(run.stdout, ["reach a", "reach b"]);
  assertEquals(run.stderr, "lokt: halted at b\n");
});

Deno.test("a process dies at the n-th visit of the point when LOKT_HALT_AT says point:n", async () => {
  const run = await runFixture("a:3");
  assertEquals(run.signal, "SIGKILL");
  assertEquals(run.stdout, ["reach a", "reach b", "reach a", "reach a"]);
});

Deno.test("a visit inside withoutHaltPoints neither halts nor counts", async () => {
  const halted = await runFixture("a:2", ["-A"], ["quiet"]);
  assertEquals(halted.signal, "SIGKILL");
  assertEquals(halted.stdout, ["reach a", "reach b", "reach a", "reach a"], "the 4th visit halts");
  const passed = await runFixture("a:3", ["-A"], ["quiet"]);
  assertEquals(passed.signal, null, "only two visits of a count");
  assertEquals(passed.stdout.at(-1), "done");
});

Deno.test("a point that is not reached, or not reached often enough, halts nothing", async () => {
  for (const haltAt of ["c", "b:2", "nonsense:0"]) {
    const run = await runFixture(haltAt);
    assertEquals(run.signal, null, haltAt);
    assertEquals(run.stdout.at(-1), "done", haltAt);
  }
});

Deno.test("without env permission the hook neither asks nor halts", async () => {
  const run = await runFixture("a", ["--no-prompt"]);
  assertEquals(run.signal, null);
  assertEquals(run.stdout.at(-1), "done");
  assertEquals(run.stderr, "");
});
