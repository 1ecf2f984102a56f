/**
 * Every fenced ```sh, ```bash and ```shell block of README.md and docs/*.md runs, as a reader
 * would paste it, and succeeds.
 *
 * Each block runs under `bash -euo pipefail`, in its own fresh fixture, with a time limit:
 *
 * - a git repository (branch `main`, one commit) whose `origin` is a bare repository next to it,
 *   so `git push` works; its Makefile has `build` (prints `building`, writes `out/build.txt`) and
 *   `test` (prints `testing`) targets that take a fifth of a second each; `out/` is ignored;
 * - `lokt` on PATH: a wrapper that runs this checkout's `main.ts`;
 * - `LOKT_ROOT` unset, so the root is found as it would be for a reader (`.git/lokt`), and no
 *   other `LOKT_*` variable either; `HOME` is an empty temporary directory; git commits work.
 *
 * A block preceded by `<!-- no-run: REASON -->` (blank lines between are allowed) is not run;
 * the reason must not be empty. Lines starting with `$ ` are not allowed: write plain commands,
 * and show output in ```text blocks.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { REPO, tempDir } from "../helpers/cli.ts";
import { wrapperScript } from "../../scripts/install_local.ts";

/** Longest a block may run before it is killed and fails. */
const BLOCK_LIMIT_MS = 60_000;
/** Blocks running at once (each in its own fixture). */
const CONCURRENCY = 4;

const MAKEFILE = [
  ".PHONY: build test",
  "build:",
  "\t@echo building",
  "\t@sleep 0.2",
  "\t@mkdir -p out && date > out/build.txt",
  "test:",
  "\t@echo testing",
  "\t@sleep 0.2",
  "",
].join("\n");

/** One fenced shell block of a document. */
interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Present when a no-run marker precedes the block: its reason, possibly empty. */
  noRun?: string;
}

const SHELL_LANGUAGES = new Set(["sh", "bash", "shell"]);
const NO_RUN = /^<!--\s*no-run\b:?(.*?)-->\s*$/;

/** The fenced shell blocks of a markdown text. */
export function shellBlocks(file: string, text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/);
    if (!open) continue;
    const [, indent, fence, language] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].trim().startsWith(fence)) end++;
    if (SHELL_LANGUAGES.has(language.toLowerCase())) {
      let before = i - 1;
      while (before >= 0 && lines[before].trim() === "") before--;
      const marker = before >= 0 ? lines[before].trim().match(NO_RUN) : null;
      const code = lines.slice(i + 1, end)
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
        .join("\n");
      blocks.push({ file, line: i + 1, code, noRun: marker ? marker[1].trim() : undefined });
    }
    i = end;
  }
  return blocks;
}

function documents(): string[] {
  const docs = [...Deno.readDirSync(`${REPO}/docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...docs];
}

const BLOCKS = documents().flatMap((file) =>
  shellBlocks(file, Deno.readTextFileSync(`${REPO}/${file}`))
);

interface Outcome {
  code: number;
  output: string;
  timedOut: boolean;
}

let denoDir: Promise<string | undefined> | undefined;
/** Deno's cache directory, kept although HOME changes (the wrapper runs Deno). */
function cacheDir(): Promise<string | undefined> {
  return denoDir ??= (async () => {
    const set = Deno.env.get("DENO_DIR");
    if (set) return set;
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    return out.success ? JSON.parse(new TextDecoder().decode(out.stdout)).denoDir : undefined;
  })();
}

async function git(args: string[], cwd: string, env: Record<string, string>): Promise<void> {
  const out = await new Deno.Command("git", { args, cwd, env, clearEnv: true }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const hasSetsid = (() => {
  try {
    return Deno.build.os === "linux" && Deno.statSync("/usr/bin/setsid").isFile;
  } catch {
    return false;
  }
})();

/** Runs one block in a fresh fixture. */
async function runBlock(block: Block): Promise<Outcome> {
  using dir = tempDir("lokt-doc-");
  const home = `${dir.path}/home`;
  const bin = `${dir.path}/bin`;
  const repo = `${dir.path}/repo`;
  for (const d of [home, bin, repo]) Deno.mkdirSync(d);
  Deno.writeTextFileSync(`${bin}/lokt`, wrapperScript(REPO, Deno.execPath()), { mode: 0o755 });
  const env: Record<string, string> = {
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    HOME: home,
    NO_COLOR: "1",
    GIT_AUTHOR_NAME: "Reader",
    GIT_AUTHOR_EMAIL: "reader@example.com",
    GIT_COMMITTER_NAME: "Reader",
    GIT_COMMITTER_EMAIL: "reader@example.com",
  };
  const cache = await cacheDir();
  if (cache) env.DENO_DIR = cache;
  for (const name of ["TMPDIR", "LANG"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }

  await git(["init", "-q", "--bare", `${dir.path}/origin.git`], dir.path, env);
  await git(["-c", "init.defaultBranch=main", "init", "-q", repo], dir.path, env);
  Deno.writeTextFileSync(`${repo}/Makefile`, MAKEFILE);
  Deno.writeTextFileSync(`${repo}/.gitignore`, "out/\n");
  await git(["add", "Makefile", ".gitignore"], repo, env);
  await git(["commit", "-q", "-m", "Initial commit"], repo, env);
  await git(["remote", "add", "origin", `${dir.path}/origin.git`], repo, env);
  await git(["push", "-q", "-u", "origin", "main"], repo, env);

  // With setsid, the block gets a session (and process group) of its own, led by a shell that
  // stays alive while the block runs, as a terminal's shell would; the group is killed on timeout.
  const args = hasSetsid
    ? ["bash", "-c", 'bash -euo pipefail -c "$1"; exit $?', "doc-block", block.code]
    : ["-euo", "pipefail", "-c", block.code];
  const child = new Deno.Command(hasSetsid ? "setsid" : "bash", {
    args,
    cwd: repo,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      // The block's whole process group: its guards and their commands too.
      Deno.kill(hasSetsid ? -child.pid : child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, BLOCK_LIMIT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder();
  const output = text.decode(out.stdout) + text.decode(out.stderr);
  return { code: out.code, output, timedOut };
}

/** Starts every runnable block on first use, a few at a time; each test awaits its own. */
let outcomes: Map<Block, Promise<Outcome>> | undefined;
function outcomeOf(block: Block): Promise<Outcome> {
  if (outcomes === undefined) {
    outcomes = new Map();
    const queue = BLOCKS.filter((b) => b.noRun === undefined);
    const resolvers = new Map<Block, (o: Outcome) => void>();
    for (const b of queue) {
      outcomes.set(b, new Promise((resolve) => resolvers.set(b, resolve)));
    }
    const worker = async () => {
      for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
        const result = await runBlock(b).catch((error) => ({
          code: -1,
          output: `fixture failed: ${error}`,
          timedOut: false,
        }));
        resolvers.get(b)!(result);
      }
    };
    for (let i = 0; i < CONCURRENCY; i++) worker();
  }
  return outcomes.get(block)!;
}

function clip(text: string, max = 4000): string {
  return text.length <= max ? text : `${text.slice(0, max / 2)}\n...\n${text.slice(-max / 2)}`;
}

Deno.test("the docs have shell examples to run", () => {
  assert(BLOCKS.some((b) => b.file === "README.md" && b.noRun === undefined));
  assert(BLOCKS.filter((b) => b.noRun === undefined).length >= 10, `${BLOCKS.length} blocks`);
});

Deno.test("the block finder sees fences, markers and their reasons", () => {
  const text = [
    "<!-- no-run: needs the network -->",
    "",
    "```sh",
    "curl https://example.com",
    "```",
    "<!-- no-run: -->",
    "```bash",
    "true",
    "```",
    "```text",
    "not shell",
    "```",
    "- item",
    "",
    "  ```shell",
    "  echo indented",
    "  ```",
  ].join("\n");
  const blocks = shellBlocks("x.md", text);
  assertEquals(blocks.map((b) => [b.line, b.code, b.noRun]), [
    [3, "curl https://example.com", "needs the network"],
    [7, "true", ""],
    [15, "echo indented", undefined],
  ]);
});

for (const block of BLOCKS) {
  const first = block.code.split("\n").find((l) => l.trim() !== "" && !l.startsWith("#")) ?? "";
  const label = `${block.file}:${block.line} ${
    block.noRun === undefined ? "runs" : "is marked no-run with a reason"
  }: ${first.slice(0, 60)}`;
  // Blocks run a few at a time in the background, so one test's wait overlaps others' work.
  Deno.test({ name: label, sanitizeOps: false, sanitizeResources: false }, async () => {
    const prompts = block.code.split("\n").filter((l) => l.startsWith("$ "));
    assertEquals(prompts, [], "write plain commands, without `$ ` prompts");
    if (block.noRun !== undefined) {
      assert(block.noRun !== "", "a no-run marker needs a reason: <!-- no-run: why -->");
      return;
    }
    const outcome = await outcomeOf(block);
    assert(!outcome.timedOut, `killed after ${BLOCK_LIMIT_MS} ms:\n${clip(outcome.output)}`);
    assertEquals(
      outcome.code,
      0,
      `exit ${outcome.code}\n--- block ---\n${block.code}\n--- output ---\n${clip(outcome.output)}`,
    );
  });
}
