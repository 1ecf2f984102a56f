/**
 * Stamps a release into the sources before `deno compile` and `deno publish`: rewrites the
 * values in `src/build_info.ts` (what `lokt version` prints) and, with `--deno-json`, the
 * "version" of `deno.json` (what JSR publishes).
 *
 *   deno run -A scripts/stamp_version.ts [--deno-json] <version> [<commit>] [<date>]
 *
 * The version may carry a leading "v" (a tag name); it is stored without it. The commit defaults
 * to `git rev-parse --short HEAD`, the date to now, in ISO 8601 UTC to the second.
 *
 * @module
 */

/** What a stamp writes into `BUILD_INFO`. */
export interface Stamp {
  version: string;
  commit: string;
  date: string;
}

/** A bad argument: the script prints it with the usage and exits 64. */
export class StampUsageError extends Error {
  override name = "StampUsageError";
}

const USAGE =
  "usage: deno run -A scripts/stamp_version.ts [--deno-json] <version> [<commit>] [<date>]";

// Semantic versioning, because JSR refuses anything else and tags become asset URLs.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** Strips a leading "v" and checks the rest is a semantic version. */
export function normalizeVersion(raw: string): string {
  const version = raw.startsWith("v") ? raw.slice(1) : raw;
  if (!SEMVER.test(version)) {
    throw new StampUsageError(`not a semantic version: "${raw}" (expected e.g. 1.2.3 or v1.2.3)`);
  }
  return version;
}

/** Checks a commit id: letters, digits, dots, dashes and underscores only ("dev" is valid). */
export function normalizeCommit(raw: string): string {
  if (!/^[0-9A-Za-z._-]{1,64}$/.test(raw)) {
    throw new StampUsageError(`not a commit id: "${raw}"`);
  }
  return raw;
}

/** Any date `Date` can parse, as ISO 8601 UTC to the second (`2026-01-02T03:04:05Z`). */
export function normalizeDate(raw: string | Date): string {
  const date = typeof raw === "string" ? new Date(raw) : raw;
  if (Number.isNaN(date.getTime())) throw new StampUsageError(`not a date: "${raw}"`);
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Replaces each field inside the BUILD_INFO literal only, so the doc comments, the shape and
// anything else someone adds to the file stay as they are.
/** Returns `source` (the text of `build_info.ts`) with the stamp's values in `BUILD_INFO`. */
export function stampBuildInfo(source: string, stamp: Stamp): string {
  const block = /export const BUILD_INFO = \{([\s\S]*?)\} as const;/.exec(source);
  if (!block) throw new Error("build_info.ts has no `export const BUILD_INFO = { ... } as const;`");
  let body = block[1];
  for (const key of ["version", "commit", "date"] as const) {
    const field = new RegExp(`(^|\\n)(\\s*)${key}: "(?:[^"\\\\]|\\\\.)*",`, "g");
    const matches = body.match(field)?.length ?? 0;
    if (matches !== 1) {
      throw new Error(`BUILD_INFO in build_info.ts must have one \`${key}: "...",\` line`);
    }
    body = body.replace(
      field,
      (_all, start, indent) => `${start}${indent}${key}: ${JSON.stringify(stamp[key])},`,
    );
  }
  const start = block.index + "export const BUILD_INFO = {".length;
  return source.slice(0, start) + body + source.slice(start + block[1].length);
}

// Edits the text rather than re-serialising so that the file keeps its layout (deno fmt checks
// it), and re-parses the result to be sure only "version" changed.
/** Returns `text` (a `deno.json`) with its top-level "version" set to `version`. */
export function stampDenoJson(text: string, version: string): string {
  const config = JSON.parse(text) as Record<string, unknown>;
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error("deno.json is not a JSON object");
  }
  const expected = { ...config, version };
  let result: string;
  if (typeof config.version === "string") {
    result = text.replace(/("version"\s*:\s*)"(?:[^"\\]|\\.)*"/, `$1${JSON.stringify(version)}`);
  } else {
    result = JSON.stringify(expected, null, 2) + "\n";
  }
  if (JSON.stringify(JSON.parse(result)) !== JSON.stringify(expected)) {
    result = JSON.stringify(expected, null, 2) + "\n";
  }
  return result;
}

async function headCommit(repo: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(`cannot run git to find the commit (pass it as an argument): ${error}`);
  }
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`git rev-parse --short HEAD failed (pass the commit as an argument): ${why}`);
  }
  return new TextDecoder().decode(output.stdout).trim();
}

/** Parses the command line, stamps the files of the repository at `repo`, and says what it did. */
export async function stampRepo(args: string[], repo: string): Promise<string[]> {
  const denoJson = args.includes("--deno-json");
  const unknown = args.filter((a) => a.startsWith("-") && a !== "--deno-json");
  if (unknown.length > 0) throw new StampUsageError(`unknown option: ${unknown[0]}`);
  const positional = args.filter((a) => !a.startsWith("-"));
  if (positional.length < 1 || positional.length > 3) {
    throw new StampUsageError("expected a version, then optionally a commit and a date");
  }
  const version = normalizeVersion(positional[0]);
  const commit = normalizeCommit(positional[1] ?? await headCommit(repo));
  const date = normalizeDate(positional[2] ?? new Date());

  const done: string[] = [];
  const infoPath = `${repo}/src/build_info.ts`;
  const info = stampBuildInfo(await Deno.readTextFile(infoPath), { version, commit, date });
  let config: string | undefined;
  if (denoJson) config = stampDenoJson(await Deno.readTextFile(`${repo}/deno.json`), version);
  // Both files are computed before either is written, so a bad deno.json leaves both untouched.
  await Deno.writeTextFile(infoPath, info);
  done.push(`src/build_info.ts: version ${version}, commit ${commit}, date ${date}`);
  if (config !== undefined) {
    await Deno.writeTextFile(`${repo}/deno.json`, config);
    done.push(`deno.json: version ${version}`);
  }
  return done;
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const repo = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
  try {
    for (const line of await stampRepo(Deno.args, repo)) console.log(`stamped ${line}`);
  } catch (error) {
    if (error instanceof StampUsageError) {
      console.error(`stamp_version: ${error.message}\n${USAGE}`);
      Deno.exit(64);
    }
    console.error(`stamp_version: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
