/**
 * scripts/stamp_version.ts, run as a process on a copy of the files it rewrites (the real
 * src/build_info.ts and deno.json are only read).
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";

const REPO = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const COPIED = ["scripts/stamp_version.ts", "src/build_info.ts", "deno.json"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary copy of the files the script touches, laid out as in the repository. */
function copyRepo(): { path: string; [Symbol.dispose](): void } {
  const path = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-stamp-" }));
  for (const file of COPIED) {
    Deno.mkdirSync(`${path}/${file.slice(0, file.lastIndexOf("/") + 1)}`, { recursive: true });
    Deno.copyFileSync(`${REPO}/${file}`, `${path}/${file}`);
  }
  return {
    path,
    [Symbol.dispose]() {
      Deno.removeSync(path, { recursive: true });
    },
  };
}

async function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  const output = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

function stamp(repo: string, ...args: string[]): Promise<Run> {
  return run(Deno.execPath(), ["run", "-A", `${repo}/scripts/stamp_version.ts`, ...args], repo);
}

/** The text of `build_info.ts` with the three values swapped, everything else byte for byte. */
function expectedInfo(original: string, version: string, commit: string, date: string): string {
  return original
    .replace(/version: "[^"]*",/, `version: "${version}",`)
    .replace(/commit: "[^"]*",/, `commit: "${commit}",`)
    .replace(/date: "[^"]*",/, `date: "${date}",`);
}

async function importInfo(repo: string): Promise<Record<string, string>> {
  // A query string makes each import a new module, so a second stamp is seen too.
  const url = `file://${repo}/src/build_info.ts?${crypto.randomUUID()}`;
  return (await import(url)).BUILD_INFO;
}

Deno.test("stamp_version writes the version without its v, the commit and the date into build_info.ts", async () => {
  using repo = copyRepo();
  const original = Deno.readTextFileSync(`${repo.path}/src/build_info.ts`);
  const denoJson = Deno.readTextFileSync(`${repo.path}/deno.json`);

  const result = await stamp(repo.path, "v1.2.3", "abc1234", "2026-03-04T05:06:07Z");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /stamped src\/build_info\.ts: version 1\.2\.3, commit abc1234/);

  const stamped = Deno.readTextFileSync(`${repo.path}/src/build_info.ts`);
  assertEquals(stamped, expectedInfo(original, "1.2.3", "abc1234", "2026-03-04T05:06:07Z"));
  assertEquals(await importInfo(repo.path), {
    version: "1.2.3",
    commit: "abc1234",
    date: "2026-03-04T05:06:07Z",
  });
  assertEquals(Deno.readTextFileSync(`${repo.path}/deno.json`), denoJson, "deno.json untouched");

  const fmt = await run(Deno.execPath(), ["fmt", "--check", "src/build_info.ts"], repo.path);
  assertEquals(fmt.code, 0, `the stamped file stays deno-fmt clean: ${fmt.stderr}`);
});

Deno.test("stamp_version with --deno-json also sets the version in deno.json and nothing else", async () => {
  using repo = copyRepo();
  const before = Deno.readTextFileSync(`${repo.path}/deno.json`);

  const result = await stamp(repo.path, "--deno-json", "2.0.0-rc.1", "deadbee", "2026-01-02");
  assertEquals(result.code, 0, result.stderr);

  const after = Deno.readTextFileSync(`${repo.path}/deno.json`);
  assertEquals(JSON.parse(after), { ...JSON.parse(before), version: "2.0.0-rc.1" });
  assertEquals(
    after.split("\n").filter((line) => !line.includes('"version"')),
    before.split("\n").filter((line) => !line.includes('"version"')),
    "every other line of deno.json is kept as it was",
  );
  assertEquals((await importInfo(repo.path)).date, "2026-01-02T00:00:00Z");
  assertEquals((await importInfo(repo.path)).version, "2.0.0-rc.1");
});

Deno.test("stamp_version defaults to the short HEAD commit and the current time to the second", async () => {
  using repo = copyRepo();
  const git = (...args: string[]) =>
    run("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], repo.path);
  assertEquals((await git("init", "-q")).code, 0);
  assertEquals((await git("add", ".")).code, 0);
  assertEquals((await git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "x")).code, 0);
  const head = (await git("rev-parse", "--short", "HEAD")).stdout.trim();
  assertMatch(head, /^[0-9a-f]{7,}$/);

  const before = Math.floor(Date.now() / 1000) * 1000;
  const result = await stamp(repo.path, "0.3.0");
  const after = Date.now();
  assertEquals(result.code, 0, result.stderr);

  const info = await importInfo(repo.path);
  assertEquals(info.version, "0.3.0");
  assertEquals(info.commit, head);
  assertMatch(info.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const stampedAt = Date.parse(info.date);
  assert(stampedAt >= before && stampedAt <= after, `${info.date} is not the time of the run`);
});

Deno.test("stamp_version refuses a bad version, commit or date with exit 64 and changes nothing", async () => {
  using repo = copyRepo();
  const info = Deno.readTextFileSync(`${repo.path}/src/build_info.ts`);
  const denoJson = Deno.readTextFileSync(`${repo.path}/deno.json`);

  for (
    const args of [
      ["--deno-json", "1.2"],
      ["--deno-json", "vv1.2.3"],
      ["1.2.3", "not a commit"],
      ["1.2.3", "abc1234", "yesterday"],
      ["1.2.3", "abc1234", "2026-01-01", "extra"],
      ["--deno.json", "1.2.3"],
      [],
    ]
  ) {
    const result = await stamp(repo.path, ...args);
    assertEquals(result.code, 64, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, /usage: deno run -A scripts\/stamp_version\.ts/);
  }
  assertEquals(Deno.readTextFileSync(`${repo.path}/src/build_info.ts`), info);
  assertEquals(Deno.readTextFileSync(`${repo.path}/deno.json`), denoJson);
});

Deno.test("stamp_version refuses a build_info.ts that lost its shape instead of guessing", async () => {
  using repo = copyRepo();
  const broken = "export const BUILD_INFO = { version: VERSION } as const;\n";
  Deno.writeTextFileSync(`${repo.path}/src/build_info.ts`, broken);

  const result = await stamp(repo.path, "1.0.0", "abc1234");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /must have one `version: "\.\.\.",` line/);
  assertEquals(Deno.readTextFileSync(`${repo.path}/src/build_info.ts`), broken);
});
