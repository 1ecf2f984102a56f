/** Which scripts `prime` finds in package.json, deno.json, Makefiles and justfiles. */

import { assert, assertEquals } from "../helpers/assert.ts";
import {
  denoTasks,
  detectScripts,
  justRecipes,
  lockNameFor,
  makeTargets,
  packageScripts,
  rankScripts,
  type RepoScript,
  stripJsonComments,
} from "../../src/prime/scripts.ts";

const names = (scripts: RepoScript[]) => scripts.map((s) => s.script);

Deno.test("package.json scripts are found, but not servers, watchers or lifecycle hooks", () => {
  const found = packageScripts(JSON.stringify({
    scripts: {
      build: "tsc",
      prebuild: "rm -rf dist",
      postbuild: "echo done",
      pretest: "echo alone", // no `test` script: a script of its own
      "db:migrate": "knex migrate:latest",
      dev: "vite",
      "test:watch": "vitest",
      start: "node server.js",
      prepare: "husky",
      postinstall: "patch-package",
      "build-server": "tsc -p server",
    },
  }));
  assertEquals(names(found), ["build", "pretest", "db:migrate", "build-server"]);
  assertEquals(found[0].command, ["npm", "run", "build"]);
  assertEquals(found[2].lockName, "db-migrate");
});

Deno.test("package.json scripts run with the package manager whose lock file is there", () => {
  const files: Record<string, string> = {
    "package.json": '{"scripts":{"test":"vitest run"}}',
    "pnpm-lock.yaml": "",
  };
  const found = detectScripts((path) => files[path]);
  assertEquals(found[0].command, ["pnpm", "run", "test"]);
});

Deno.test("a script that already runs lokt guard is marked guarded", () => {
  const [script] = packageScripts('{"scripts":{"build":"lokt guard build -- tsc"}}');
  assertEquals(script.guarded, true);
});

Deno.test("unparsable or script-less package.json files give nothing", () => {
  assertEquals(packageScripts("{ not json"), []);
  assertEquals(packageScripts('{"name":"x"}'), []);
  assertEquals(packageScripts('{"scripts":{"build":42}}'), []);
});

Deno.test("deno.json tasks are found, in string and object form, from JSONC too", () => {
  const text = `{
    // tasks, with a comment
    "tasks": {
      "build": "deno run -A build.ts", /* inline */
      "test": { "command": "deno test -A", "description": "all tests" },
      "dev": "deno run --watch main.ts",
      "url": "echo http://example.com/a//b",
    },
  }`;
  const found = denoTasks(text);
  assertEquals(names(found), ["build", "test", "url"]);
  assertEquals(found[1].command, ["deno", "task", "test"]);
});

Deno.test("stripJsonComments keeps comment-like text inside strings", () => {
  assertEquals(
    JSON.parse(stripJsonComments('{"a": "x // y /* z */", "b": "q\\"//", } // end')),
    { a: "x // y /* z */", b: 'q"//' },
  );
});

Deno.test("Makefile targets are found; variables, special, pattern and file targets are not", () => {
  const text = [
    ".PHONY: build test",
    "CC := gcc",
    "OPT ::= -O2",
    "X = a:b",
    "build: deps",
    "\t$(CC) -o app main.c",
    "test lint: build",
    "\t./run-tests",
    "%.o: %.c",
    "\t$(CC) -c $<",
    "dist/app.js: src/app.ts",
    "app.o: main.c",
    "help:",
    "\t@echo targets",
    "serve:",
    "\tpython -m http.server",
    "deploy:: ; ./deploy.sh",
    "build: more-deps",
  ].join("\n");
  const found = makeTargets(text);
  assertEquals(names(found), ["build", "test", "lint", "deploy"]);
  assertEquals(found[3].command, ["make", "deploy"]);
  assertEquals(found[3].ttl, "30m");
});

Deno.test("justfile recipes are found unless private or needing arguments", () => {
  const text = [
    'set shell := ["bash", "-c"]',
    'version := "1.0"',
    "alias b := build",
    "",
    "build: lint",
    "    cargo build",
    "",
    "@lint:",
    "    cargo clippy",
    "",
    "test filter='':",
    "    cargo test {{filter}}",
    "",
    "deploy env:",
    "    ./deploy.sh {{env}}",
    "",
    "bench *args:",
    "    cargo bench {{args}}",
    "",
    "[private]",
    "helper:",
    "    echo hidden",
    "",
    "_internal:",
    "    echo hidden",
  ].join("\n");
  assertEquals(names(justRecipes(text)), ["build", "lint", "test", "bench"]);
});

Deno.test("lock names keep only the characters lock names may have", () => {
  const table: [string, string | undefined][] = [
    ["build", "build"],
    ["db:migrate", "db-migrate"],
    ["test/e2e", "test-e2e"],
    [":weird:", "weird"],
    ["_private", "private"],
    ["::", undefined],
  ];
  for (const [script, expected] of table) assertEquals(lockNameFor(script), expected, script);
});

Deno.test("well-known scripts come first and the list is capped", () => {
  const make = (script: string) => makeTargets(`${script}:\n\ttrue`)[0];
  const ranked = rankScripts(["zeta", "alpha", "test", "deploy", "build"].map(make), 4);
  assertEquals(names(ranked), ["build", "test", "deploy", "zeta"]);
});

Deno.test("detectScripts reads every kind of file, package.json first", () => {
  const files: Record<string, string> = {
    "package.json": '{"scripts":{"typecheck":"tsc --noEmit"}}',
    "deno.jsonc": '{"tasks":{"check":"deno check ."}}',
    "Makefile": "build:\n\tgo build\n",
    "justfile": "fmt:\n    cargo fmt\n",
  };
  const found = detectScripts((path) => files[path]);
  assertEquals(
    found.map((s) => `${s.source}:${s.script}`),
    ["Makefile:build", "deno.json:check", "package.json:typecheck", "justfile:fmt"],
  );
  assert(found.every((s) => !s.guarded));
});
