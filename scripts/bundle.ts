/**
 * The release form of the CLI: `main.ts` and everything it may load (every command, the
 * PostgreSQL backend, the MCP server and their npm packages) bundled into a directory of
 * JavaScript files, `main.js` and its chunks. The release workflow compiles that directory into
 * the binaries; a checkout, its tests and its README commands run `src/` directly and never need
 * it. The benchmarks measure both forms side by side.
 *
 *   deno run -A scripts/bundle.ts <out-dir>
 *
 * Why a bundle, measured (docs/performance.md): Deno pays for every module it loads (it reads the
 * file, looks its code up in the code cache, instantiates it), and lokt's start-up path is about
 * 40 modules; the bundle's is two files of the same code, with no comments or types.
 *
 * How, in five steps:
 * 1. A staged copy of the sources with every `import(lazy("..."))` written as the literal
 *    `import("...")`, so that the bundler (esbuild, through `deno bundle`) follows it. `lazy()`
 *    (src/lazy.ts) hides an import from Deno's start-up graph, and from the bundler too.
 * 2. In that copy, every module outside main.ts's start-up graph imports the whole graph (see
 *    {@link shareStartupGraph}), so that the graph ends up in one chunk instead of about 20.
 * 3. `deno bundle --code-splitting`: code only some commands use goes to chunks of its own, each
 *    loaded by a dynamic import when it is first needed.
 * 4. Each dynamic import of a chunk, `import("./x.js")`, is written `import(String("./x.js"))`:
 *    Deno reads every module a literal dynamic import names before the program starts, which
 *    would load every chunk for every command (the reason for `lazy()` in the sources).
 * 5. Chunks that hold no code, and their imports, are removed (see {@link dropEmptyChunks}).
 *
 * Each step checks its work: a `lazy()` call left in the staged sources, a dynamic import left
 * literal, or one naming a file the bundle lacks, fails the build.
 *
 * @module
 */

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** A build that did not produce a sound bundle: the script prints it and exits 1. */
export class BundleError extends Error {
  override name = "BundleError";
}

/** What a build wrote. */
export interface BundleReport {
  /** The directory holding `main.js` and its chunks. */
  dir: string;
  /** The bundle's files, by name. */
  files: string[];
  /** Their total size in bytes. */
  bytes: number;
  /** How many `lazy()` imports the staged sources had made literal. */
  lazyImports: number;
  /** How many chunk imports were hidden from Deno's start-up graph. */
  hiddenImports: number;
  /** How many imports of chunks that hold no code were removed, with those chunks. */
  droppedImports: number;
}

/** A `lazy()` call with a string or template literal argument (what src/lazy.ts allows). */
const LAZY_CALL = /\blazy\(\s*("[^"\n]*"|`[^`\n]*`)\s*,?\s*\)/g;

/** A dynamic import of a chunk as esbuild writes it (comments of the source may come along). */
const CHUNK_IMPORT =
  /\bimport\(\s*(?:\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*"(\.\/[^"\n]+\.js)"\s*\)/g;

/** The same import once hidden from Deno's start-up graph. */
const HIDDEN_IMPORT = /\bimport\(String\("(\.\/[^"\n]+\.js)"\)\)/g;

/** A dynamic import of one of Node's built-in modules. */
const NODE_IMPORT = /\bimport\(\s*"node:[a-z_/]+"\s*\)/g;

/** Code lines of `text`: comments may show an idiom with a made-up path. */
function codeOf(text: string): string {
  return text.split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
}

function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    if (entry.isDirectory) copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) Deno.copyFileSync(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...filesUnder(path));
    else if (entry.isFile) found.push(path);
  }
  return found;
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Step 1: rewrites every `lazy("...")` of the staged sources as its literal; returns how many.
 * src/lazy.ts itself is left as it is (it defines the function, and nothing calls it any more).
 */
export function unhideLazyImports(srcDir: string): number {
  let count = 0;
  for (const path of filesUnder(srcDir)) {
    if (!path.endsWith(".ts") || path.endsWith("/lazy.ts")) continue;
    const text = Deno.readTextFileSync(path);
    const rewritten = text.replace(LAZY_CALL, (_call, literal: string) => {
      count++;
      return literal;
    });
    const left = codeOf(rewritten).match(/\blazy\(/);
    if (left) {
      throw new BundleError(
        `${path.slice(srcDir.length + 1)}: a lazy() call without a literal argument is left ` +
          `(the bundler could not follow it)`,
      );
    }
    if (rewritten !== text) Deno.writeTextFileSync(path, rewritten);
  }
  return count;
}

/**
 * Step 4: rewrites each literal `import("./chunk.js")` of the bundle in `dir` so that Deno does
 * not read it at start-up; returns how many. Fails if an import names a file not in `dir`, or if
 * a dynamic import of any other form is left.
 */
export function hideChunkImports(dir: string): number {
  const names = new Set([...Deno.readDirSync(dir)].map((entry) => entry.name));
  let count = 0;
  for (const name of names) {
    if (!name.endsWith(".js")) continue;
    const path = `${dir}/${name}`;
    const text = Deno.readTextFileSync(path);
    const rewritten = text.replace(CHUNK_IMPORT, (_import, target: string) => {
      if (!names.has(target.slice(2))) {
        throw new BundleError(`${name}: imports ${target}, which the bundle does not have`);
      }
      count++;
      return `import(String("${target}"))`;
    });
    // Node's built-in modules (asked for by npm packages) are Deno's own: nothing to read.
    const other = codeOf(rewritten).replace(HIDDEN_IMPORT, "").replace(NODE_IMPORT, "")
      .match(/\bimport\((?!\))[^)\n]{0,60}/);
    if (other) {
      throw new BundleError(`${name}: a dynamic import the build cannot place: ${other[0]}`);
    }
    if (rewritten !== text) Deno.writeTextFileSync(path, rewritten);
  }
  return count;
}

/** A side-effect import of a chunk, on a line of its own, as esbuild writes it. */
const BARE_IMPORT = /^import "(\.\/[^"\n]+\.js)";\n/gm;

/**
 * Step 5: removes the chunks that hold no code, and every bare `import "./chunk.js";` of one;
 * returns how many imports it removed. Step 2 leaves one: the module it adds has only imports,
 * whose code lands in the shared chunk, so the module's own chunk is empty, and every chunk
 * outside the start-up graph imports it: a file Deno would read and look up in its code cache
 * for nothing. Importing an empty module does nothing, so nothing else changes. Fails if
 * anything else still names a removed chunk.
 */
export function dropEmptyChunks(dir: string): number {
  const names = [...Deno.readDirSync(dir)].map((entry) => entry.name)
    .filter((name) => name.endsWith(".js"));
  const empty = new Set(
    names.filter((name) =>
      name !== "main.js" && codeOf(Deno.readTextFileSync(`${dir}/${name}`)).trim() === ""
    ),
  );
  if (empty.size === 0) return 0;
  let count = 0;
  for (const name of names) {
    if (empty.has(name)) continue;
    const path = `${dir}/${name}`;
    const text = Deno.readTextFileSync(path);
    const rewritten = text.replace(BARE_IMPORT, (line, target: string) => {
      if (!empty.has(target.slice(2))) return line;
      count++;
      return "";
    });
    for (const gone of empty) {
      if (rewritten.includes(`"./${gone}"`)) {
        throw new BundleError(
          `${name}: names ${gone}, a chunk with no code, other than by a bare import`,
        );
      }
    }
    if (rewritten !== text) Deno.writeTextFileSync(path, rewritten);
  }
  for (const name of empty) Deno.removeSync(`${dir}/${name}`);
  return count;
}

/** A module of `deno info --json` and what it imports. */
interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/**
 * The files of the start-up graph of `main`: what its static imports of code reach (not dynamic
 * imports, not `import type`), as `deno info` sees them.
 */
export async function startupGraph(main: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new BundleError(`deno info ${main} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const modules: InfoModule[] = JSON.parse(new TextDecoder().decode(out.stdout)).modules;
  const bySpecifier = new Map(modules.map((module) => [module.specifier, module]));
  const reached = new Set<string>();
  const pending = [new URL(`file://${main}`).href];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (reached.has(specifier)) continue;
    reached.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) pending.push(dep.code.specifier);
    }
  }
  return new Set(
    [...reached].filter((s) => s.startsWith("file:")).map((s) =>
      decodeURIComponent(new URL(s).pathname)
    ),
  );
}

/** The module that step 2 adds: it imports the whole start-up graph. */
const STARTUP_MODULE = "startup_graph.ts";

function relativeTo(fromDir: string, path: string): string {
  const from = fromDir.split("/").filter((part) => part !== "");
  const to = path.split("/").filter((part) => part !== "");
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  const up = from.length - common;
  return (up === 0 ? "./" : "../".repeat(up)) + to.slice(common).join("/");
}

/**
 * Step 2: makes every module outside the start-up graph import all of it. esbuild puts each module
 * in the chunk of the exact set of entry points (main.ts, and each dynamic import) that reach it;
 * the start-up graph's modules are reached by main.ts and by different sets of commands, so they
 * would be spread over about 20 small chunks, each a file to load at start. Reached from every
 * entry point, they share one chunk. It changes nothing at run time: those modules are evaluated
 * at start-up anyway, before any module that now imports them. Returns how many modules import it.
 */
export function shareStartupGraph(srcDir: string, startup: Set<string>): number {
  const module = `${srcDir}/${STARTUP_MODULE}`;
  const lines = [...startup].filter((path) => path.startsWith(`${srcDir}/`)).sort()
    .map((path) => `import "${relativeTo(srcDir, path)}";`);
  if (lines.length === 0) throw new BundleError(`no start-up module found under ${srcDir}`);
  Deno.writeTextFileSync(module, lines.join("\n") + "\n");
  let count = 0;
  for (const path of filesUnder(srcDir)) {
    if (!path.endsWith(".ts") || path === module || startup.has(path)) continue;
    const dir = path.slice(0, path.lastIndexOf("/"));
    const text = Deno.readTextFileSync(path);
    Deno.writeTextFileSync(path, `import "${relativeTo(dir, module)}";\n${text}`);
    count++;
  }
  return count;
}

/** Builds the release bundle of the sources in `repo` into `outDir`, which must not exist. */
export async function buildBundle(outDir: string, repo: string = REPO): Promise<BundleReport> {
  try {
    Deno.lstatSync(outDir);
    throw new BundleError(`${outDir} exists: give a directory that does not`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const stage = Deno.makeTempDirSync({ prefix: "lokt-bundle-" });
  let built = false;
  try {
    copyTree(`${repo}/src`, `${stage}/src`);
    for (const file of ["main.ts", "deno.json", "deno.lock"]) {
      Deno.copyFileSync(`${repo}/${file}`, `${stage}/${file}`);
    }
    const lazyImports = unhideLazyImports(`${stage}/src`);
    const startup = await startupGraph(`${stage}/main.ts`);
    shareStartupGraph(`${stage}/src`, startup);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "deno",
        "--code-splitting",
        "--outdir",
        outDir,
        `${stage}/main.ts`,
      ],
      cwd: stage,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new BundleError(`deno bundle failed:\n${text.trim()}`);
    }
    const hiddenImports = hideChunkImports(outDir);
    const droppedImports = dropEmptyChunks(outDir);
    const files = [...Deno.readDirSync(outDir)].map((entry) => entry.name).sort();
    if (!files.includes("main.js")) throw new BundleError(`deno bundle wrote no main.js`);
    const bytes = files.reduce((sum, name) => sum + Deno.statSync(`${outDir}/${name}`).size, 0);
    built = true;
    return { dir: outDir, files, bytes, lazyImports, hiddenImports, droppedImports };
  } finally {
    Deno.removeSync(stage, { recursive: true });
    // Half a bundle is worse than none: nothing may run it by mistake.
    if (!built) removeIfThere(outDir);
  }
}

if (import.meta.main) {
  const [outDir, ...rest] = Deno.args;
  if (outDir === undefined || outDir.startsWith("-") || rest.length > 0) {
    console.error("usage: deno run -A scripts/bundle.ts <out-dir>");
    Deno.exit(64);
  }
  try {
    const report = await buildBundle(outDir);
    console.log(
      `bundled into ${report.dir}: ${report.files.length} files, ` +
        `${(report.bytes / 1024).toFixed(0)} KB; ${report.lazyImports} lazy() imports followed, ` +
        `${report.hiddenImports} chunk imports kept out of the start-up graph, ` +
        `${report.droppedImports} imports of empty chunks removed`,
    );
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    console.error(`bundle: ${error.message}`);
    Deno.exit(1);
  }
}
