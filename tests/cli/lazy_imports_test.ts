/**
 * Modules imported through `lazy()` stay out of the start-up graph, and every one of them is
 * still compiled into the release binary: the release workflow compiles the whole bundle, which
 * follows every `lazy()` import (scripts/bundle.ts; tests/publish/bundle_test.ts).
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { REPO } from "../helpers/cli.ts";

/** Every `.ts` file under `dir`, relative to the repository. */
function sources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(`${REPO}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...sources(path));
    else if (entry.name.endsWith(".ts")) found.push(path);
  }
  return found;
}

/** Normalizes `a/b/../c/./d` to `a/c/d`. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/**
 * The modules each `lazy("...")` (or `lazy(\`...${x}...\`)`) names, as patterns relative to the
 * repository: a template's placeholder matches any file name.
 */
function lazyTargets(): { from: string; pattern: RegExp; text: string }[] {
  const targets = [];
  for (const file of sources("src")) {
    // Code only: a comment may show the idiom with a made-up path.
    const text = Deno.readTextFileSync(`${REPO}/${file}`).split("\n")
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    for (const m of text.matchAll(/\blazy\(\s*(["`])([^"`]+)\1\s*\)/g)) {
      const dir = file.slice(0, file.lastIndexOf("/"));
      const path = normalize(`${dir}/${m[2]}`);
      const pattern = new RegExp(
        "^" + path.split(/\$\{[^}]*\}/).map((s) => s.replace(/[.*+?^()|[\]\\]/g, "\\$&"))
          .join("[^/]+") +
          "$",
      );
      targets.push({ from: file, pattern, text: path });
    }
  }
  return targets;
}

/**
 * The release workflow's bundle directory, checked to be what its compile step compiles whole:
 * `deno compile ... --include <dir>/ ... <dir>/main.js`.
 */
function compiledBundle(): string {
  const workflow = Deno.readTextFileSync(`${REPO}/.github/workflows/release.yml`);
  const bundle = workflow.match(/^\s*run: deno run -A scripts\/bundle\.ts (\S+)$/m);
  assert(bundle, "the release workflow builds a bundle with scripts/bundle.ts");
  const dir = bundle[1];
  const compile = workflow.match(/^\s*deno compile ([^\n]*\\\n)*[^\n]*$/m);
  assert(compile, "the release workflow has a deno compile step");
  const words = compile[0].split(/\s+/).filter((word) => word !== "\\" && word !== "");
  assert(words.includes(`${dir}/`), `the compile step includes ${dir}/: ${compile[0]}`);
  assertEquals(words.at(-1), `${dir}/main.js`, compile[0]);
  return dir;
}

Deno.test("every module imported through lazy() exists, and the release binary compiles the bundle that follows them", () => {
  const targets = lazyTargets();
  assert(targets.length >= 5, `found only ${targets.map((t) => t.text).join(", ")}`);
  const all = sources("src");
  for (const target of targets) {
    const matching = all.filter((file) => target.pattern.test(file));
    assert(matching.length > 0, `lazy("${target.text}") in ${target.from} names no module`);
  }
  // The bundle follows every lazy() import (tests/publish/bundle_test.ts); the binary gets all of
  // it, the chunks no import names literally included.
  assertEquals(compiledBundle(), "bundle");
});

/** A module of `deno info --json` and the code (not type) modules it imports. */
interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

Deno.test("the start-up graph of main.ts holds no command module, help text or other platform's probe", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${REPO}/main.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  const graph: { modules: InfoModule[] } = JSON.parse(new TextDecoder().decode(output.stdout));
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  // What `deno run` reads before main.ts runs: static and literal dynamic imports of code, not
  // of types (`import type`, `typeof import(...)`).
  const loaded = new Set<string>();
  const pending = [new URL(`file://${REPO}/main.ts`).href];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code) pending.push(dep.code.specifier);
    }
  }
  const modules = [...loaded].map((s) =>
    decodeURIComponent(new URL(s).pathname).slice(REPO.length + 1)
  );
  assert(modules.includes("src/cli/table.ts"), modules.join("\n"));
  const eager = modules.filter((m) =>
    m.startsWith("src/cli/commands/") || m === "src/cli/help.ts" || m === "src/cli/hints.ts" ||
    m.startsWith("src/identity/proc_")
  );
  assertEquals(eager, []);
});
