/**
 * End-to-end: `prime` in a real git repository with a package.json and a Makefile, and every
 * command it suggests, run as an agent would run it: through a `lokt` on PATH that is the real
 * entry point, against real npm and make scripts that leave a trace.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { REPO, tempDir } from "../helpers/cli.ts";
import { wrapperScript } from "../../scripts/install_local.ts";
import { COMMANDS } from "../../src/cli/table.ts";
import { PRIME_FORMATS } from "../../src/prime/generate.ts";

const PACKAGE_JSON = {
  name: "fixture",
  private: true,
  scripts: {
    build: "echo npm-build >> ran.log",
    prebuild: "echo npm-prebuild >> ran.log",
    test: "echo npm-test >> ran.log",
    "db:migrate": "echo npm-migrate >> ran.log",
    dev: "sleep 600",
  },
};

const MAKEFILE = [
  ".PHONY: build lint serve",
  "build:",
  "\t@echo make-build >> ran.log",
  "lint:",
  "\t@echo make-lint >> ran.log",
  "serve:",
  "\tsleep 600",
  "",
].join("\n");

/** What each suggested guard must have run, by the command it guards. */
const TRACES: Record<string, string[]> = {
  "npm run build": ["npm-prebuild", "npm-build"],
  "npm run test": ["npm-test"],
  "npm run db:migrate": ["npm-migrate"],
  "make build": ["make-build"],
  "make lint": ["make-lint"],
};

/** A stand-in for npm where none is installed: runs `npm run NAME` from package.json. */
const NPM_STUB = `#!/bin/sh
[ "$1" = run ] || { echo "npm stub: only 'npm run' is supported" >&2; exit 1; }
script=$2
for phase in "pre$script" "$script" "post$script"; do
  body=$(${JSON.stringify(Deno.execPath())} eval --quiet \\
    "const s = JSON.parse(Deno.readTextFileSync('package.json')).scripts ?? {}; console.log(s[Deno.args[0]] ?? '')" "$phase")
  [ -n "$body" ] && { sh -c "$body" || exit $?; }
done
exit 0
`;

function onPath(command: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":");
  return dirs.some((dir) => {
    try {
      return Deno.statSync(`${dir}/${command}`).isFile;
    } catch {
      return false;
    }
  });
}

interface Fixture {
  repo: string;
  env: (agent: string) => Record<string, string>;
  [Symbol.dispose](): void;
}

/** A git repository with the package.json and Makefile above, and `lokt` (plus npm) on PATH. */
async function fixture(): Promise<Fixture> {
  const dir = tempDir("lokt-prime-");
  const repo = `${dir.path}/repo`;
  const bin = `${dir.path}/bin`;
  Deno.mkdirSync(repo);
  Deno.mkdirSync(bin);
  const init = await new Deno.Command("git", { args: ["init", "-q", repo] }).output();
  assertEquals(init.code, 0, new TextDecoder().decode(init.stderr));
  Deno.writeTextFileSync(`${repo}/package.json`, JSON.stringify(PACKAGE_JSON, null, 2));
  Deno.writeTextFileSync(`${repo}/Makefile`, MAKEFILE);
  Deno.writeTextFileSync(`${bin}/lokt`, wrapperScript(REPO, Deno.execPath()), { mode: 0o755 });
  if (!onPath("npm")) Deno.writeTextFileSync(`${bin}/npm`, NPM_STUB, { mode: 0o755 });
  const env = (agent: string): Record<string, string> => {
    const vars: Record<string, string> = {
      PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      HOME: Deno.env.get("HOME") ?? dir.path,
      LOKT_NO_DETECT: "1",
      LOKT_AGENT_ID: agent,
      LOKT_OWNER: "tester",
      NO_COLOR: "1",
    };
    for (const name of ["DENO_DIR", "npm_config_cache", "TMPDIR"]) {
      const value = Deno.env.get(name);
      if (value) vars[name] = value;
    }
    return vars;
  };
  return { repo, env, [Symbol.dispose]: () => dir[Symbol.dispose]() };
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(line: string, cwd: string, env: Record<string, string>): Promise<Ran> {
  const out = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", line],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function prime(f: Fixture, args: string[], agent = "primer"): Promise<Ran> {
  return await sh(`lokt prime ${args.join(" ")}`, f.repo, f.env(agent));
}

/** Every line of every ```sh block, and every `*-cmd:` value of a ```yaml block. */
function suggestedCommands(text: string): string[] {
  const lines: string[] = [];
  for (const m of text.matchAll(/^```(sh|yaml)\n([\s\S]*?)^```$/gm)) {
    for (const line of m[2].split("\n")) {
      if (m[1] === "sh" && line.trim() !== "" && !line.startsWith("#")) lines.push(line.trim());
      const cmd = m[1] === "yaml" ? line.match(/^[a-z-]+-cmd:\s*(.+)$/) : null;
      if (cmd) lines.push(cmd[1].trim());
    }
  }
  return lines;
}

function ranLog(repo: string): string[] {
  try {
    return Deno.readTextFileSync(`${repo}/ran.log`).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

Deno.test("prime is read-only: in a fresh repository it says nothing is held and creates no root", async () => {
  using f = await fixture();
  const out = await prime(f, []);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(out.stdout, /No locks or freezes were held/);
  let rootExists = true;
  try {
    Deno.statSync(`${f.repo}/.git/lokt`);
  } catch {
    rootExists = false;
  }
  assertEquals(rootExists, false, "prime created the lock root");
});

Deno.test("prime names the repository's scripts, not its servers, and only real commands", async () => {
  using f = await fixture();
  const commandNames = new Set(COMMANDS.map((c) => c.name));
  for (const format of PRIME_FORMATS) {
    const out = await prime(f, ["--format", format]);
    assertEquals(out.code, 0, `${format}: ${out.stderr}`);
    const suggested = suggestedCommands(out.stdout);
    for (const command of Object.keys(TRACES)) {
      assert(
        suggested.some((line) => line.startsWith("lokt guard ") && line.endsWith(`-- ${command}`)),
        `${format} suggests no guard for ${command}:\n${out.stdout}`,
      );
    }
    assertNotMatch(out.stdout, /sleep 600|npm run dev|make serve/);
    for (const m of out.stdout.matchAll(/`lokt ([a-z][a-z-]*)/g)) {
      assert(commandNames.has(m[1]), `${format} mentions "lokt ${m[1]}", which is no command`);
    }
  }
});

Deno.test("every command prime suggests, in every format, runs and exits 0", async () => {
  using f = await fixture();
  const byFormat = new Map<string, string[]>();
  for (const format of PRIME_FORMATS) {
    const out = await prime(f, ["--format", format]);
    assertEquals(out.code, 0, `${format}: ${out.stderr}`);
    const lines = suggestedCommands(out.stdout);
    assert(lines.length >= Object.keys(TRACES).length + 3, `${format}: ${lines.join("\n")}`);
    byFormat.set(format, lines);
  }
  // The formats share their command lines: each distinct line runs once, as a new agent.
  const distinct = [...new Set([...byFormat.values()].flat())];
  for (const [i, line] of distinct.entries()) {
    const before = ranLog(f.repo).length;
    const out = await sh(line, f.repo, f.env(`prime-run-${i}`));
    assertEquals(out.code, 0, `\`${line}\` exited ${out.code}:\n${out.stdout}\n${out.stderr}`);
    const guarded = Object.keys(TRACES).find((command) => line.endsWith(`-- ${command}`));
    if (guarded !== undefined) {
      assertEquals(ranLog(f.repo).slice(before), TRACES[guarded], `\`${line}\` did not run it`);
    }
  }
  // Nothing is left held: every guard released its lock.
  const status = await sh("lokt status --json", f.repo, f.env("checker"));
  assertEquals(status.code, 0, status.stderr);
  assertEquals(JSON.parse(status.stdout).locks, []);
});

Deno.test("prime lists the locks and freezes held right now, and --json carries the same", async () => {
  using f = await fixture();
  const other = f.env("agent-other");
  const took = await sh("lokt lock release-train --ttl 1h", f.repo, other);
  assertEquals(took.code, 0, took.stderr);
  const froze = await sh(
    "lokt freeze deploy-prod --ttl 1h --reason 'incident 42'",
    f.repo,
    other,
  );
  assertEquals(froze.code, 0, froze.stderr);

  const text = await prime(f, []);
  assertEquals(text.code, 0, text.stderr);
  assertMatch(text.stdout, /`release-train`: held by tester@\S+ \(agent agent-other\), for \d/);
  assertMatch(text.stdout, /`deploy-prod`: frozen by tester@\S+ for 59m\d+s more: "incident 42"/);
  assertNotMatch(text.stdout, /No locks or freezes/);

  const json = await prime(f, ["--format", "cursorrules", "--json"]);
  assertEquals(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assertEquals(report.format, "cursorrules");
  assertEquals(report.file, ".cursorrules");
  assertEquals(report.locks.map((l: { name: string }) => l.name), ["release-train"]);
  assertEquals(report.freezes[0].reason, "incident 42");
  assert(
    report.scripts.some((s: { suggestion: string }) =>
      s.suggestion === "lokt guard db-migrate --ttl 10m --wait -- npm run db:migrate"
    ),
    json.stdout,
  );
  assertMatch(report.text, /^# lokt: shared commands/);
});

Deno.test("prime refuses an unknown format with a usage error", async () => {
  using f = await fixture();
  const out = await prime(f, ["--format", "vim"]);
  assertEquals(out.code, 64);
  assertMatch(out.stderr, /claude-md, cursorrules, windsurfrules, copilot, clinerules, aider/);
});

Deno.test("prime on a shared backend says so, recommends a TTL, lists no files, and never connects", async () => {
  using f = await fixture();
  // A host that does not resolve: prime would fail if it tried to connect.
  Deno.writeTextFileSync(
    `${f.repo}/lokt.jsonc`,
    '{ "backend": "postgres://lokt:s3cret@db.invalid:5432/lokt", "namespace": "acme/web" }\n',
  );
  const out = await prime(f, []);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(
    out.stdout,
    /shared with other machines .* PostgreSQL database: postgres:\/\/lokt:\*\*\*@db\.invalid:5432\/lokt, namespace `acme\/web`/,
  );
  assertMatch(out.stdout, /give every plain lock a TTL/);
  assertMatch(out.stdout, /Not listed: the locks are in the shared database/);
  assertNotMatch(out.stdout + out.stderr, /s3cret/);
  const json = await prime(f, ["--json"]);
  assertEquals(json.code, 0, json.stderr);
  assertEquals(JSON.parse(json.stdout).backend, {
    kind: "postgres",
    location: "postgres://lokt:***@db.invalid:5432/lokt",
    namespace: "acme/web",
  });
  for (const format of ["windsurfrules", "cursorrules"]) {
    const other = await prime(f, ["--format", format]);
    assertMatch(other.stdout, /shared with other machines/, format);
  }
});
