/**
 * Which of a repository's scripts are worth guarding: package.json scripts, deno.json tasks,
 * Makefile targets and justfile recipes. Parsing is pure (text in, scripts out); only
 * {@link detectScripts} reads files, through the reader it is given.
 */

/** Where a script was found. */
export type ScriptSource = "package.json" | "deno.json" | "Makefile" | "justfile";

/** A script of the repository and the guarded command that runs it. */
export interface RepoScript {
  source: ScriptSource;
  /** The script's own name: `build`, `db:migrate`. */
  script: string;
  /** The command that runs it, as words: `["npm", "run", "build"]`. */
  command: string[];
  /** The lock name to guard it with: the script name with `:` and `/` turned into `-`. */
  lockName: string;
  /** TTL to suggest, as lokt reads it: `10m`. */
  ttl: string;
  /** The script already runs `lokt guard` itself: run it as it is. */
  guarded: boolean;
}

/** Reads a file of the repository, or returns undefined when it is not there. */
export type ReadText = (relativePath: string) => string | undefined;

/** At most this many scripts are suggested, the well-known names first. */
export const MAX_SCRIPTS = 12;

/** Names suggested first, in this order, when a repository has more scripts than fit. */
const WELL_KNOWN = [
  "build",
  "test",
  "lint",
  "check",
  "typecheck",
  "fmt",
  "format",
  "migrate",
  "db:migrate",
  "e2e",
  "test:e2e",
  "bench",
  "deploy",
  "release",
  "publish",
  "docker",
];

/** Servers and watchers never end: guarding them holds the lock for the whole session. */
const LONG_RUNNING = /(^|[:_-])(dev|start|serve|watch|preview)([:_-]|$)/i;

/** npm runs these by itself around install and publish; nobody runs them by hand. */
const NPM_LIFECYCLE = new Set([
  "install",
  "preinstall",
  "postinstall",
  "prepare",
  "prepublish",
  "prepublishOnly",
  "prepack",
  "postpack",
  "version",
  "preversion",
  "postversion",
  "dependencies",
]);

/** The lock name for a script name: `db:migrate` -> `db-migrate`; undefined if none fits. */
export function lockNameFor(script: string): string | undefined {
  const name = script.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "")
    .replace(/-+$/, "").slice(0, 128);
  return name === "" ? undefined : name;
}

/** The TTL to suggest: deploys and releases get longer, everything else ten minutes. */
export function ttlFor(script: string): string {
  return /deploy|release|publish/i.test(script) ? "30m" : "10m";
}

function candidate(
  source: ScriptSource,
  script: string,
  command: string[],
  body: string,
): RepoScript | undefined {
  if (LONG_RUNNING.test(script)) return undefined;
  const lockName = lockNameFor(script);
  if (lockName === undefined) return undefined;
  return {
    source,
    script,
    command,
    lockName,
    ttl: ttlFor(script),
    guarded: /\blokt\s+guard\b/.test(body),
  };
}

/** The package manager a repository uses, from its lock file: `npm` unless another's is there. */
export function packageManager(read: ReadText): string {
  if (read("pnpm-lock.yaml") !== undefined) return "pnpm";
  if (read("yarn.lock") !== undefined) return "yarn";
  if (read("bun.lock") !== undefined || read("bun.lockb") !== undefined) return "bun";
  return "npm";
}

/** Scripts of a package.json text, skipping servers, watchers and npm's lifecycle hooks. */
export function packageScripts(text: string, manager = "npm"): RepoScript[] {
  let scripts: unknown;
  try {
    scripts = (JSON.parse(text) as { scripts?: unknown })?.scripts;
  } catch {
    return [];
  }
  if (typeof scripts !== "object" || scripts === null) return [];
  const entries = Object.entries(scripts as Record<string, unknown>)
    .filter((e): e is [string, string] => typeof e[1] === "string");
  const names = new Set(entries.map(([name]) => name));
  const found: RepoScript[] = [];
  for (const [name, body] of entries) {
    if (NPM_LIFECYCLE.has(name)) continue;
    // `prebuild` and `postbuild` run as part of `build`.
    const hooked = name.match(/^(pre|post)(.+)$/);
    if (hooked && names.has(hooked[2])) continue;
    const script = candidate("package.json", name, [manager, "run", name], body);
    if (script) found.push(script);
  }
  return found;
}

/** Removes `//` and `/* *\/` comments and trailing commas from JSONC, leaving strings alone. */
export function stripJsonComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

/** Tasks of a deno.json or deno.jsonc text (a task is a string or `{ command }`). */
export function denoTasks(text: string): RepoScript[] {
  let tasks: unknown;
  try {
    tasks = (JSON.parse(stripJsonComments(text)) as { tasks?: unknown })?.tasks;
  } catch {
    return [];
  }
  if (typeof tasks !== "object" || tasks === null) return [];
  const found: RepoScript[] = [];
  for (const [name, value] of Object.entries(tasks as Record<string, unknown>)) {
    const body = typeof value === "string"
      ? value
      : typeof (value as { command?: unknown })?.command === "string"
      ? (value as { command: string }).command
      : "";
    const script = candidate("deno.json", name, ["deno", "task", name], body);
    if (script) found.push(script);
  }
  return found;
}

/** Targets of a Makefile text that can be run by name (no special, pattern or file targets). */
export function makeTargets(text: string): RepoScript[] {
  const lines = text.replace(/\\\n/g, " ").split("\n");
  const found: RepoScript[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // `name: deps` but not `name := value`, `name ::= value` or `name != value`.
    const m = line.match(/^([^\s:#=][^:#=]*?)\s*::?(?![=:])(.*)$/);
    if (!m || line.startsWith("\t")) continue;
    const recipe: string[] = [m[2].includes(";") ? m[2].slice(m[2].indexOf(";") + 1) : ""];
    for (let j = i + 1; j < lines.length && lines[j].startsWith("\t"); j++) recipe.push(lines[j]);
    for (const target of m[1].trim().split(/\s+/)) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(target) || target === "help") continue;
      if (/\.[A-Za-z0-9]+$/.test(target) || seen.has(target)) continue;
      seen.add(target);
      const script = candidate("Makefile", target, ["make", target], recipe.join("\n"));
      if (script) found.push(script);
    }
  }
  return found;
}

/** Recipes of a justfile text that take no required parameter and are not private. */
export function justRecipes(text: string): RepoScript[] {
  const lines = text.split("\n");
  const found: RepoScript[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^@?([A-Za-z][A-Za-z0-9_-]*)((?:\s+[^:\s]+)*)\s*:(?!=)/);
    if (!m) continue;
    if (i > 0 && /^\[.*\bprivate\b.*\]/.test(lines[i - 1])) continue;
    // A parameter without a default (`name`, `+files`) must be given: skip such recipes.
    const params = m[2].trim().split(/\s+/).filter((p) => p !== "");
    if (params.some((p) => !p.includes("=") && !p.startsWith("*"))) continue;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && /^\s+\S/.test(lines[j]); j++) body.push(lines[j]);
    const script = candidate("justfile", m[1], ["just", m[1]], body.join("\n"));
    if (script) found.push(script);
  }
  return found;
}

function firstOf(read: ReadText, names: string[]): string | undefined {
  for (const name of names) {
    const text = read(name);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** Orders scripts well-known names first (then as found) and keeps at most `max`. */
export function rankScripts(scripts: RepoScript[], max = MAX_SCRIPTS): RepoScript[] {
  const rank = (s: RepoScript) => {
    const i = WELL_KNOWN.indexOf(s.script);
    return i < 0 ? WELL_KNOWN.length : i;
  };
  return scripts
    .map((script, index) => ({ script, index }))
    .sort((a, b) => rank(a.script) - rank(b.script) || a.index - b.index)
    .slice(0, max)
    .map((e) => e.script);
}

/** Every script worth guarding in the repository `read` looks into, ranked and capped. */
export function detectScripts(read: ReadText, max = MAX_SCRIPTS): RepoScript[] {
  const found: RepoScript[] = [];
  const pkg = read("package.json");
  if (pkg !== undefined) found.push(...packageScripts(pkg, packageManager(read)));
  const deno = firstOf(read, ["deno.json", "deno.jsonc"]);
  if (deno !== undefined) found.push(...denoTasks(deno));
  const make = firstOf(read, ["GNUmakefile", "makefile", "Makefile"]);
  if (make !== undefined) found.push(...makeTargets(make));
  const just = firstOf(read, ["justfile", "Justfile", ".justfile"]);
  if (just !== undefined) found.push(...justRecipes(just));
  return rankScripts(found, max);
}
