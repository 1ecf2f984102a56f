/**
 * Modules imported through `lazy()` stay out of the start-up graph, and every one of them is
 * still compiled into the release binary (the release workflow names it with `--include`).
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

/** The files the release workflow's compile step passes with --include (globs expanded). */
function compiledIncludes(): Set<string> {
  const workflow = Deno.readTextFileSync(`${REPO}/.github/workflows/release.yml`);
  const loop = workflow.match(/for module in ([^;]+); do\s+include\+=\(--include "\$module"\)/);
  assert(loop, "the compile step builds its --include list in a for loop");
  const files = new Set<string>();
  for (const glob of loop[1].trim().split(/\s+/).filter((word) => word !== "\\")) {
    const dir = glob.slice(0, glob.lastIndexOf("/"));
    const name = new RegExp(
      "^" + glob.slice(dir.length + 1).replace(/[.+?^()|[\]\\]/g, "\\$&").replaceAll("*", ".*") +
        "$",
    );
    for (const entry of Deno.readDirSync(`${REPO}/${dir}`)) {
      if (entry.isFile && name.test(entry.name)) files.add(`${dir}/${entry.name}`);
    }
  }
  return files;
}

Deno.test("every module imported through lazy() is named by the release binary's --include list", () => {
  const targets = lazyTargets();
  assert(targets.length >= 5, `found only ${targets.map((t) => t.text).join(", ")}`);
  const included = compiledIncludes();
  const all = sources("src");
  for (const target of targets) {
    const matching = all.filter((file) => target.pattern.test(file));
    assert(matching.length > 0, `lazy("${target.text}") in ${target.from} names no module`);
    for (const file of matching) {
      assert(included.has(file), `${file} (lazy in ${target.from}) is not in --include`);
    }
  }
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
