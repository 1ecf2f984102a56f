/**
 * The release bundle (scripts/bundle.ts), built from this checkout into a scratch directory:
 * it follows every `lazy()` import of the sources, keeps the chunks that only some commands need
 * out of Deno's start-up graph, and runs lokt as the sources do: commands, a hand-off, the MCP
 * server that `prime --mcp` sets up, and the PostgreSQL backend. The whole end-to-end suite runs
 * against a bundle with `LOKT_TEST_MAIN=<dir>/main.js deno test -A tests/e2e tests/mcp`, as the
 * release workflow does before it compiles one.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { finish, holderEnv, lokt, REPO, startLokt, tempDir, until } from "../helpers/cli.ts";
import { connect, serverEnv, textOf } from "../mcp/client.ts";
import { noPostgres, startCluster } from "../helpers/postgres.ts";
import {
  buildBundle,
  BundleError,
  dropEmptyChunks,
  hideChunkImports,
} from "../../scripts/bundle.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...sources(path));
    else if (entry.name.endsWith(".ts")) found.push(path);
  }
  return found;
}

/** How many `lazy("...")` calls the code (not the comments) of `src/` makes. */
function lazyCalls(): number {
  let count = 0;
  for (const file of sources(`${REPO}/src`)) {
    const code = Deno.readTextFileSync(file).split("\n")
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    count += [...code.matchAll(/\blazy\(\s*["`]/g)].length;
  }
  return count;
}

/**
 * The files of the start-up graph of `main`, as `deno info` reads it before running anything:
 * every module it lists, dynamic imports included, so stricter than the static walk of
 * scripts/bundle.ts that this checks.
 */
async function startupGraph(main: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return (info.modules as { specifier: string }[])
    .map((module) => decodeURIComponent(new URL(module.specifier).pathname));
}

Deno.test("the release bundle: every lazy() import followed, the chunks some commands need kept out of start-up, lokt running from it", async (t) => {
  using scratch = tempDir("lokt-bundle-test-");
  const dir = `${scratch.path}/bundle`;
  const report = await buildBundle(dir);
  const main = `${dir}/main.js`;

  await t.step("it follows every lazy() import and leaves no literal chunk import", () => {
    assertEquals(report.lazyImports, lazyCalls());
    assert(report.hiddenImports >= report.lazyImports, JSON.stringify(report));
    const targets = new Set<string>();
    const staticTargets = new Set<string>();
    for (const name of report.files) {
      // Code only: esbuild keeps a comment with each glob import's source text.
      const text = Deno.readTextFileSync(`${dir}/${name}`).split("\n")
        .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
      assertEquals(text.match(/\bimport\(\s*"\.\//), null, `${name} has a literal chunk import`);
      // A chunk without code would only be one more file to read (scripts/bundle.ts, step 5).
      assert(text.trim() !== "", `${name} holds no code`);
      for (const m of text.matchAll(/\bimport\(String\("\.\/([^"]+)"\)\)/g)) targets.add(m[1]);
      for (const m of text.matchAll(/\b(?:from|import)\s*"\.\/([^"]+)"/g)) staticTargets.add(m[1]);
    }
    for (const target of [...targets, ...staticTargets]) {
      assert(report.files.includes(target), `${target} is imported but not in the bundle`);
    }
    // Some chunks are imported only when a command needs them: the reason for the bundle's shape.
    assert([...targets].some((target) => !staticTargets.has(target)));
  });

  await t.step(
    "Deno reads only main.js and the one chunk of its start-up graph before it runs",
    async () => {
      const graph = await startupGraph(main);
      assert(graph.includes(main), graph.join("\n"));
      const loadedLater = report.files.filter((name) => !graph.includes(`${dir}/${name}`));
      // The MCP server (its SDK) and the PostgreSQL client are among what start-up never reads.
      const later = loadedLater.map((name) => Deno.readTextFileSync(`${dir}/${name}`)).join("\n");
      assertMatch(later, /\bserveMcp\b/);
      assertMatch(later, /\bPostgresBackend\b|\bpostgres\b/);
      assert(graph.length * 2 < report.files.length, `${graph.length} of ${report.files.length}`);
      // The start-up graph of main.ts shares one chunk (scripts/bundle.ts, step 2), not about 20.
      assert(graph.length <= 3, `start-up reads ${graph.length} files:\n${graph.join("\n")}`);
    },
  );

  await t.step(
    "a built bundle is refused as a target, and a chunk import it lacks fails",
    async () => {
      let refused: unknown;
      try {
        await buildBundle(dir);
      } catch (error) {
        refused = error;
      }
      assert(refused instanceof BundleError, String(refused));
      assert(Deno.statSync(main).isFile, "the existing bundle is left alone");
      const broken = `${scratch.path}/broken`;
      Deno.mkdirSync(broken);
      Deno.writeTextFileSync(`${broken}/main.js`, `await import("./gone.js");\n`);
      let missing: unknown;
      try {
        hideChunkImports(broken);
      } catch (error) {
        missing = error;
      }
      assert(missing instanceof BundleError && /gone\.js/.test(missing.message), String(missing));
      // An empty chunk goes with its bare imports, but one that is named otherwise fails.
      const empty = `${scratch.path}/empty`;
      Deno.mkdirSync(empty);
      Deno.writeTextFileSync(`${empty}/main.js`, `import "./e.js";\nconsole.log(1);\n`);
      Deno.writeTextFileSync(`${empty}/e.js`, "");
      assertEquals(dropEmptyChunks(empty), 1);
      assertEquals(Deno.readTextFileSync(`${empty}/main.js`), "console.log(1);\n");
      assertEquals([...Deno.readDirSync(empty)].map((entry) => entry.name), ["main.js"]);
      Deno.writeTextFileSync(`${empty}/main.js`, `await import(String("./e.js"));\n`);
      Deno.writeTextFileSync(`${empty}/e.js`, "");
      const named = assertThrows(() => dropEmptyChunks(empty), BundleError);
      assertMatch(named.message, /e\.js/);
      assert(Deno.statSync(`${empty}/e.js`).isFile, "a chunk still named is kept");
    },
  );

  const root = `${scratch.path}/root`;
  const env = holderEnv(root, "agent-a");
  const run = (args: string[], options: { env?: Record<string, string> } = {}) =>
    lokt(args, { env: options.env ?? env, entry: main });

  await t.step("lokt runs from it as from the sources", async () => {
    const version = await run(["version"]);
    assertEquals(version, await lokt(["version"], { env }));
    assertEquals(version.code, 0);

    assertEquals((await run(["exists", "x"])).code, 3);
    assertEquals((await run(["lock", "x", "--ttl", "5m"])).code, 0);
    const status = await run(["status", "--json"]);
    assertEquals(status.code, 0, status.stderr);
    assertEquals(JSON.parse(status.stdout).locks[0].name, "x");
    assertEquals((await run(["exists", "x"])).code, 0);
    const why = await run(["why", "x"]);
    assertMatch(why.stdout + why.stderr, /agent-a/);

    // A hand-off: another agent waits, and gets the name once the holder lets it go.
    const waiter = startLokt(["lock", "x", "--wait", "--quiet"], holderEnv(root, "agent-b"), main);
    await until("the waiter queues", () => {
      try {
        return [...Deno.readDirSync(`${root}/queue/x`)].length > 0;
      } catch {
        return false;
      }
    });
    assertEquals((await run(["unlock", "x"])).code, 0);
    assertEquals((await finish(waiter)).code, 0);
    const after = JSON.parse((await run(["status", "x", "--json"])).stdout);
    assertEquals(after.agent_id, "agent-b");

    const guard = await run(["guard", "g", "--", "sh", "-c", "echo inside"]);
    assertEquals(guard.code, 0, guard.stderr);
    assertEquals(guard.stdout, "inside\n");
    const audit = await run(["audit", "--json"]);
    assertEquals(audit.code, 0, audit.stderr);
    const events = audit.stdout.trim().split("\n").map((line) => JSON.parse(line).event);
    assert(events.includes("acquire") && events.includes("release"), events.join(" "));
    const completions = await run(["completions", "bash"]);
    assertEquals(completions.code, 0);
    assertMatch(completions.stdout, /complete -F/);
  });

  await t.step(
    "prime --mcp from the bundle sets up the bundle's own server, which answers",
    async () => {
      const server = serverEnv(root, "agent-m");
      const prime = await run(["prime", "--mcp", "generic", "--json"], { env: server });
      assertEquals(prime.code, 0, prime.stderr);
      const printed = JSON.parse(prime.stdout);
      assertEquals(printed.args, [...RUN_ARGS, main, "mcp"]);
      const s = await connect(server, { command: Deno.execPath(), args: printed.args });
      try {
        const taken = await s.client.callTool({ name: "acquire", arguments: { name: "m" } });
        assert(taken.isError !== true, textOf(taken));
        const released = await s.client.callTool({ name: "release", arguments: { name: "m" } });
        assert(released.isError !== true, textOf(released));
      } finally {
        await s.close();
      }
    },
  );

  await t.step({
    name: "on PostgreSQL, from the bundle: lock, status, unlock",
    ignore: noPostgres(),
    fn: async () => {
      await using cluster = await startCluster();
      const pg = holderEnv(root, "agent-p", {
        LOKT_BACKEND: cluster.url,
        LOKT_NAMESPACE: "bundle",
      });
      assertEquals((await run(["lock", "p"], { env: pg })).code, 0);
      const status = await run(["status", "--json"], { env: pg });
      assertEquals(status.code, 0, status.stderr);
      const shown = JSON.parse(status.stdout);
      assertEquals(shown.backend.kind, "postgres");
      assertEquals(shown.locks[0].name, "p");
      assertEquals((await run(["unlock", "p"], { env: pg })).code, 0);
      assertEquals((await run(["exists", "p"], { env: pg })).code, 3);
    },
  });
});
