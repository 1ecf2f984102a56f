import { HaltTarget, parseHaltTarget } from "../helpers/halting_main.ts";
import { assertEquals } from "../helpers/assert.ts";
import { holderEnv, lokt, REPO, tempDir } from "../helpers/cli.ts";

const FIXTURE = new URL("./halt_fixture.ts", import.meta.url).pathname;

async function runFixture(haltAt?: string, args: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, ...args],
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
  const cases: [string | undefined, HaltTarget | null][] = [
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

Deno.test("a visit on a rehearsal's scratch files is its own point, rehearsal.<point>", async () => {
  const halted = await runFixture("a:2", ["scratch"]);
  assertEquals(halted.signal, "SIGKILL");
  assertEquals(halted.stdout, ["reach a", "reach b", "reach a", "reach a"], "the 4th visit halts");
  const passed = await runFixture("a:3", ["scratch"]);
  assertEquals(passed.signal, null, "only two visits of a count");
  assertEquals(passed.stdout.at(-1), "done");
  const rehearsal = await runFixture("rehearsal.a", ["scratch"]);
  assertEquals(rehearsal.signal, "SIGKILL");
  assertEquals(rehearsal.stdout, ["reach a", "reach b", "reach a"]);
  assertEquals(rehearsal.stderr, "lokt: halted at rehearsal.a\n");
});

Deno.test("a point that is not reached, or not reached often enough, halts nothing", async () => {
  for (const haltAt of ["c", "b:2", "nonsense:0"]) {
    const run = await runFixture(haltAt);
    assertEquals(run.signal, null, haltAt);
    assertEquals(run.stdout.at(-1), "done", haltAt);
  }
});

Deno.test("without the test entry's hook, LOKT_HALT_AT halts nothing", async () => {
  const run = await runFixture("a", ["bare"]);
  assertEquals(run.signal, null);
  assertEquals(run.stdout.at(-1), "done");
  assertEquals(run.stderr, "");
});

Deno.test("lokt's own entry point and its library ignore LOKT_HALT_AT", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "a", { LOKT_HALT_AT: "store.publish.after-link" });
  const cli = await lokt(["lock", "x"], { env });
  assertEquals(cli.code, 0, cli.stderr);

  const script = `import { withLock } from "${REPO}/mod.ts";
    console.log(await withLock("y", { root: ${JSON.stringify(root)} }, (l) => l.fence));`;
  const lib = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(lib.signal, null, new TextDecoder().decode(lib.stderr));
  assertEquals(new TextDecoder().decode(lib.stdout), "1\n");
});
