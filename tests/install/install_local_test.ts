/**
 * `deno task install` (scripts/install_local.ts): the wrapper it writes, run as a real command
 * from elsewhere, with installs into temporary directories only.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import { BUILD_INFO } from "../../src/build_info.ts";
import { installWrapper, shellQuote } from "../../scripts/install_local.ts";

const REPO = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const NOT_UNIX = Deno.build.os === "windows"; // the wrapper is an sh script

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tempDir(): { path: string; [Symbol.dispose](): void } {
  const path = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-inst-local-" }));
  return {
    path,
    [Symbol.dispose]() {
      Deno.removeSync(path, { recursive: true });
    },
  };
}

async function run(
  cmd: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string },
): Promise<Run> {
  const output = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "null",
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

function baseEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    NO_COLOR: "1",
    LOKT_NO_DETECT: "1",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return { ...env, ...extra };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function show(result: Run): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

Deno.test({
  name: "deno task install writes a lokt wrapper that runs this checkout from any directory",
  ignore: NOT_UNIX,
  async fn() {
    using tmp = tempDir();
    const bin = `${tmp.path}/bin`;
    const home = `${tmp.path}/home`;
    Deno.mkdirSync(home);
    const install = await run(Deno.execPath(), ["task", "install"], {
      cwd: REPO,
      env: baseEnv(home, { LOKT_INSTALL_DIR: bin }),
    });

    assertEquals(install.code, 0, show(install));
    assertMatch(
      install.stdout,
      new RegExp(`installed ${escape(bin)}/lokt, which runs ${escape(REPO)}/main\\.ts`),
    );
    assertMatch(install.stdout, new RegExp(`${escape(bin)} is not on your PATH`));
    assertMatch(install.stdout, new RegExp(`\n {4}export PATH="${escape(bin)}:\\$PATH"\n`));
    assertMatch(install.stdout, new RegExp(`\nlokt ${escape(BUILD_INFO.version)} `));
    assertEquals((Deno.statSync(`${bin}/lokt`).mode ?? 0) & 0o7777, 0o755);
    assertEquals([...Deno.readDirSync(bin)].map((e) => e.name), ["lokt"]);

    // From a directory whose own deno.json is broken, with arguments passed through.
    const elsewhere = `${tmp.path}/elsewhere`;
    Deno.mkdirSync(elsewhere);
    Deno.writeTextFileSync(`${elsewhere}/deno.json`, "{ not json");
    const version = await run(`${bin}/lokt`, ["version", "--json"], {
      cwd: elsewhere,
      env: baseEnv(home),
    });
    assertEquals(version.code, 0, show(version));
    const info = JSON.parse(version.stdout);
    assertEquals(
      [info.version, info.commit, info.date],
      [BUILD_INFO.version, BUILD_INFO.commit, BUILD_INFO.date],
    );
  },
});

Deno.test({
  name: "deno task install defaults to ~/.local/bin and gives no PATH hint when it is on PATH",
  ignore: NOT_UNIX,
  async fn() {
    using tmp = tempDir();
    const home = `${tmp.path}/home`;
    const bin = `${home}/.local/bin`;
    Deno.mkdirSync(home);
    const env = baseEnv(home);
    const install = await run(Deno.execPath(), ["run", "-A", `${REPO}/scripts/install_local.ts`], {
      cwd: tmp.path,
      env: { ...env, PATH: `${bin}:${env.PATH}` },
    });

    assertEquals(install.code, 0, show(install));
    assert(Deno.statSync(`${bin}/lokt`).isFile);
    assertNotMatch(install.stdout, /not on your PATH/);
  },
});

Deno.test({
  name: "deno task install suggests $HOME/.local/bin symbolically when the default is not on PATH",
  ignore: NOT_UNIX,
  async fn() {
    using tmp = tempDir();
    const home = `${tmp.path}/home`;
    Deno.mkdirSync(home);
    const install = await run(Deno.execPath(), ["run", "-A", `${REPO}/scripts/install_local.ts`], {
      cwd: tmp.path,
      env: baseEnv(home),
    });

    assertEquals(install.code, 0, show(install));
    assertMatch(install.stdout, /\n {4}export PATH="\$HOME\/\.local\/bin:\$PATH"\n/);
  },
});

Deno.test({
  name: "deno task install refuses a directory it cannot create and leaves nothing behind",
  ignore: NOT_UNIX,
  async fn() {
    using tmp = tempDir();
    const home = `${tmp.path}/home`;
    const place = `${tmp.path}/place`;
    Deno.mkdirSync(home);
    Deno.mkdirSync(place);
    Deno.writeTextFileSync(`${place}/file`, "in the way\n");
    const install = await run(Deno.execPath(), ["run", "-A", `${REPO}/scripts/install_local.ts`], {
      cwd: tmp.path,
      env: baseEnv(home, { LOKT_INSTALL_DIR: `${place}/file/bin` }),
    });

    assertEquals(install.code, 1, show(install));
    assertMatch(install.stderr, /^lokt install: error: cannot install lokt into \S+\/file\/bin: /);
    assertMatch(install.stderr, /Nothing was installed\.\n$/);
    assertEquals([...Deno.readDirSync(place)].map((e) => e.name), ["file"]);
  },
});

Deno.test({
  name: "the wrapper quotes a checkout path with spaces and quotes and passes arguments unchanged",
  ignore: NOT_UNIX,
  async fn() {
    using tmp = tempDir();
    const repo = `${tmp.path}/it's a "checkout" $HOME`;
    Deno.mkdirSync(repo);
    Deno.writeTextFileSync(`${repo}/main.ts`, "console.log(JSON.stringify(Deno.args));\n");
    const wrapper = installWrapper(repo, `${tmp.path}/bin`, Deno.execPath());

    const args = ["a b", "it's", '"q"', "$HOME", "*", ""];
    const result = await run(wrapper, args, { cwd: tmp.path, env: baseEnv(tmp.path) });
    assertEquals(result.code, 0, show(result));
    assertEquals(JSON.parse(result.stdout), args);
    assertEquals(shellQuote("it's"), `'it'\\''s'`);
  },
});

Deno.test({
  name: "the wrapper falls back to the deno on PATH when the installing one is gone",
  ignore: NOT_UNIX,
  async fn() {
    using tmp = tempDir();
    const repo = `${tmp.path}/repo`;
    Deno.mkdirSync(repo);
    Deno.writeTextFileSync(`${repo}/main.ts`, "console.log('ran');\n");
    const wrapper = installWrapper(repo, `${tmp.path}/bin`, `${tmp.path}/no/such/deno`);
    // The running Deno, as `deno` first on PATH whatever its own file is called.
    const denoDir = `${tmp.path}/deno-bin`;
    Deno.mkdirSync(denoDir);
    Deno.symlinkSync(Deno.execPath(), `${denoDir}/deno`);
    const env = baseEnv(tmp.path);

    const result = await run(wrapper, [], {
      cwd: tmp.path,
      env: { ...env, PATH: `${denoDir}:${env.PATH}` },
    });
    assertEquals(result.code, 0, show(result));
    assertEquals(result.stdout, "ran\n");
  },
});
