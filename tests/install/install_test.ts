/**
 * install.sh against a fake release served on 127.0.0.1: the installer runs as a real child
 * process (`sh install.sh`), downloads with the real curl or wget, verifies with the real
 * sha256sum, shasum or openssl, and installs a fake `lokt` that only answers `version`.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";

const REPO = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const INSTALL_SH = `${REPO}/install.sh`;
const FAKE_VERSION = "lokt 9.9.9 (fake)";
const FAKE_LOKT = `#!/bin/sh
case "$1" in
  version) echo "${FAKE_VERSION}" ;;
  *) echo "fake lokt: $*" >&2; exit 1 ;;
esac
`;
const RUN_TIMEOUT_MS = 60_000;

/** The release target of this machine, as install.sh names it, if it has one. */
function hostTarget(): string | undefined {
  const os = { linux: "unknown-linux-gnu", darwin: "apple-darwin" }[Deno.build.os as string];
  return os ? `${Deno.build.arch}-${os}` : undefined;
}

const TARGET = hostTarget() ?? "unsupported";
const ASSET = `lokt-${TARGET}.tar.gz`;
const NOT_UNIX = hostTarget() === undefined; // install.sh is for Linux and macOS only

/** The absolute path of `name` on PATH, if it is there. */
function findTool(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Output of a run, for assertion messages. */
function show(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function runQuiet(cmd: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).output();
  assert(output.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
}

/**
 * A temporary world for one installer run: a fake release under `release/` served over HTTP,
 * a HOME, a TMPDIR (empty again after every run: the installer cleans up), and an install
 * directory `bin/` that does not exist yet.
 */
class Sandbox {
  readonly root: string;
  readonly release: string;
  readonly home: string;
  readonly tmp: string;
  readonly bin: string;
  /** Every path the server was asked for, in order. */
  readonly requests: string[] = [];
  /** The User-Agent of each request (curl and wget each send their own). */
  readonly agents: string[] = [];
  /** Called with a request path; may return a promise to hold the response back. */
  hold: (path: string) => Promise<void> | undefined = () => undefined;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(root: string) {
    this.root = root;
    this.release = `${root}/release`;
    this.home = `${root}/home`;
    this.tmp = `${root}/tmp`;
    this.bin = `${root}/bin`;
    for (const dir of [this.release, this.home, this.tmp]) Deno.mkdirSync(dir);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#serve(request),
    );
  }

  /** A sandbox whose release has the fake lokt for this machine, as latest and as v9.9.9. */
  static async create(): Promise<Sandbox> {
    const sandbox = new Sandbox(Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-inst-" })));
    const pkg = `${sandbox.root}/pkg`;
    Deno.mkdirSync(pkg);
    // 0700 inside the archive: the installer must set 0755 itself.
    Deno.writeTextFileSync(`${pkg}/lokt`, FAKE_LOKT, { mode: 0o700 });
    Deno.chmodSync(`${pkg}/lokt`, 0o700);
    const archive = `${sandbox.root}/${ASSET}`;
    await runQuiet("tar", ["-czf", archive, "-C", pkg, "lokt"]);
    const hash = await sha256Hex(Deno.readFileSync(archive));
    // Another asset's line first, so the installer has to pick its own.
    const other = await sha256Hex(new TextEncoder().encode("not this one"));
    const sums = `${other}  lokt-x86_64-pc-windows-msvc.zip\n${hash}  ${ASSET}\n`;
    for (const dir of ["latest/download", "download/v9.9.9"]) {
      Deno.mkdirSync(`${sandbox.release}/${dir}`, { recursive: true });
      Deno.copyFileSync(archive, `${sandbox.release}/${dir}/${ASSET}`);
      Deno.writeTextFileSync(`${sandbox.release}/${dir}/SHA256SUMS`, sums);
    }
    return sandbox;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #serve(request: Request): Promise<Response> {
    const path = decodeURIComponent(new URL(request.url).pathname);
    this.requests.push(path);
    this.agents.push(request.headers.get("user-agent") ?? "");
    await this.hold(path);
    if (path.split("/").includes("..")) return new Response("bad path\n", { status: 400 });
    try {
      const file = `${this.release}${path}`;
      if (Deno.statSync(file).isFile) return new Response(Deno.readFileSync(file));
    } catch {
      // served as a 404 below
    }
    return new Response("not found\n", { status: 404 });
  }

  /** The environment of an installer run: nothing inherited but PATH. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: this.home,
      TMPDIR: this.tmp,
      LOKT_BASE_URL: this.url,
      LOKT_INSTALL_DIR: this.bin,
      ...extra,
    };
  }

  /** Runs `<shell...> install.sh` and waits for it (bounded). */
  async install(
    extra: Record<string, string> = {},
    options: { shell?: string[]; script?: string } = {},
  ): Promise<Run> {
    const [cmd, ...args] = options.shell ?? ["sh"];
    // Found on this process's PATH: the child's PATH may be a bare toolbox.
    const output = await new Deno.Command(findTool(cmd) ?? cmd, {
      args: [...args, options.script ?? INSTALL_SH],
      env: this.env(extra),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const text = new TextDecoder();
    return {
      code: output.code,
      stdout: text.decode(output.stdout),
      stderr: text.decode(output.stderr),
    };
  }

  /** The requests made for files under `latest/` and under `download/`. */
  requestsUnder(prefix: string): string[] {
    return this.requests.filter((path) => path.startsWith(prefix));
  }

  /** Fails unless the installer left no lokt behind and removed its temporary directory. */
  assertNothingInstalled(run: Run, dir = this.bin): void {
    let entries: string[] = [];
    try {
      entries = [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    assertEquals(entries, [], `nothing installed in ${dir}\n${show(run)}`);
    this.assertCleanedUp(run);
  }

  /** Fails if the installer left anything in TMPDIR. */
  assertCleanedUp(run: Run): void {
    const left = [...Deno.readDirSync(this.tmp)].map((e) => e.name);
    assertEquals(left, [], `temporary files left behind\n${show(run)}`);
  }

  /** Fails unless `dir/lokt` is the fake lokt with mode 0755. */
  assertInstalled(run: Run, dir = this.bin): void {
    assertEquals(run.code, 0, show(run));
    assertEquals(Deno.readTextFileSync(`${dir}/lokt`), FAKE_LOKT);
    assertEquals((Deno.statSync(`${dir}/lokt`).mode ?? 0) & 0o7777, 0o755, "mode of lokt");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["lokt"], "nothing else in dir");
    assertMatch(run.stdout, new RegExp(`installed ${escape(dir)}/lokt\n`));
    assertMatch(run.stdout, new RegExp(`${escape(FAKE_VERSION)}\n$`), "ends with lokt version");
    this.assertCleanedUp(run);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
    Deno.removeSync(this.root, { recursive: true });
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test({
  name: "install.sh parses as POSIX sh in every shell on this machine",
  ignore: NOT_UNIX,
  async fn() {
    assert(findTool("sh"), "sh is missing: install.sh is a sh script");
    for (const shell of ["sh", "dash", "bash", "busybox"]) {
      if (!findTool(shell)) continue; // the others are optional
      const args = shell === "busybox" ? ["sh", "-n", INSTALL_SH] : ["-n", INSTALL_SH];
      const output = await new Deno.Command(shell, { args, stderr: "piped" }).output();
      assertEquals(output.code, 0, `${shell} -n: ${new TextDecoder().decode(output.stderr)}`);
    }
  },
});

Deno.test({
  name: "install.sh installs the latest release, runs lokt version and shows the PATH line to add",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const run = await sandbox.install();

    sandbox.assertInstalled(run);
    assertMatch(run.stdout, new RegExp(`${escape(sandbox.bin)} is not on your PATH`));
    assertMatch(run.stdout, new RegExp(`\n {4}export PATH="${escape(sandbox.bin)}:\\$PATH"\n`));
    assertMatch(run.stdout, new RegExp(`verified ${escape(ASSET)} \\(sha256 [0-9a-f]{64}\\)`));
    assertEquals(sandbox.requests, [`/latest/download/${ASSET}`, "/latest/download/SHA256SUMS"]);
    assertEquals(run.stderr, "");
  },
});

Deno.test({
  name: "install.sh installs a pinned LOKT_VERSION from download/v<version>, with or without the v",
  ignore: NOT_UNIX,
  async fn() {
    for (const version of ["v9.9.9", "9.9.9"]) {
      await using sandbox = await Sandbox.create();
      const run = await sandbox.install({ LOKT_VERSION: version });

      sandbox.assertInstalled(run);
      assertEquals(sandbox.requests, [
        `/download/v9.9.9/${ASSET}`,
        "/download/v9.9.9/SHA256SUMS",
      ], `LOKT_VERSION=${version}`);
    }
  },
});

Deno.test({
  name:
    "install.sh defaults to $HOME/.local/bin, replaces an older lokt there and is quiet about a PATH that has it",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const dir = `${sandbox.home}/.local/bin`;
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/lokt`, "#!/bin/sh\necho old\n", { mode: 0o700 });
    const env = sandbox.env();
    const run = await sandbox.install({
      LOKT_INSTALL_DIR: "",
      PATH: `${dir}:${env.PATH}`,
    });

    sandbox.assertInstalled(run, dir);
    assertNotMatch(run.stdout, /not on your PATH/);
  },
});

Deno.test({
  name: "install.sh with the default directory and no PATH entry suggests $HOME/.local/bin",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const run = await sandbox.install({ LOKT_INSTALL_DIR: "" });

    sandbox.assertInstalled(run, `${sandbox.home}/.local/bin`);
    assertMatch(run.stdout, /\n {4}export PATH="\$HOME\/\.local\/bin:\$PATH"\n/);
  },
});

for (const shell of [["dash"], ["bash", "--posix"], ["busybox", "sh"]]) {
  const missing = !findTool(shell[0]);
  Deno.test({
    name: `install.sh installs the latest release when run by ${shell.join(" ")}`,
    // Each shell is optional here; sh itself is covered above.
    ignore: NOT_UNIX || missing,
    async fn() {
      await using sandbox = await Sandbox.create();
      const run = await sandbox.install({}, { shell });
      sandbox.assertInstalled(run);
    },
  });
}

Deno.test({
  name: "install.sh refuses a checksum mismatch and installs nothing",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const wrong = await sha256Hex(new TextEncoder().encode("tampered"));
    Deno.writeTextFileSync(`${sandbox.release}/latest/download/SHA256SUMS`, `${wrong}  ${ASSET}\n`);
    const run = await sandbox.install();

    assertEquals(run.code, 1, show(run));
    assertMatch(
      run.stderr,
      new RegExp(`checksum mismatch for ${escape(ASSET)}: SHA256SUMS says ${wrong}`),
    );
    assertMatch(run.stderr, /Nothing was installed\./);
    sandbox.assertNothingInstalled(run);
  },
});

Deno.test({
  name: "install.sh refuses an archive that SHA256SUMS does not list, or no SHA256SUMS at all",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const sums = `${sandbox.release}/latest/download/SHA256SUMS`;
    const other = Deno.readTextFileSync(sums).split("\n").filter((l) => !l.includes(ASSET));
    Deno.writeTextFileSync(sums, other.join("\n"));
    let run = await sandbox.install();

    assertEquals(run.code, 1, show(run));
    assertMatch(
      run.stderr,
      new RegExp(`SHA256SUMS of release latest has no checksum for ${escape(ASSET)}`),
    );
    sandbox.assertNothingInstalled(run);

    Deno.removeSync(sums);
    run = await sandbox.install();
    assertEquals(run.code, 1, show(run));
    assertMatch(
      run.stderr,
      /could not download http:\S+\/latest\/download\/SHA256SUMS, so .* cannot be verified/,
    );
    sandbox.assertNothingInstalled(run);
  },
});

Deno.test({
  name: "install.sh refuses clearly when the release has no archive for this machine (404)",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    Deno.removeSync(`${sandbox.release}/latest/download/${ASSET}`);
    let run = await sandbox.install();

    assertEquals(run.code, 1, show(run));
    assertMatch(run.stderr, /404/, "curl's own reason is shown");
    assertMatch(
      run.stderr,
      new RegExp(`could not download ${escape(sandbox.url)}/latest/download/${escape(ASSET)} `),
    );
    assertMatch(run.stderr, new RegExp(`no binary for ${escape(TARGET)} in it`));
    sandbox.assertNothingInstalled(run);

    run = await sandbox.install({ LOKT_VERSION: "1.0.0" });
    assertEquals(run.code, 1, show(run));
    assertMatch(
      run.stderr,
      new RegExp(`could not download \\S+/download/v1\\.0\\.0/${escape(ASSET)}`),
    );
    sandbox.assertNothingInstalled(run);
  },
});

Deno.test({
  name: "install.sh refuses an unsupported OS or CPU clearly, before downloading anything",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const cases: [Record<string, string>, RegExp][] = [
      [{ LOKT_INSTALL_OS: "FreeBSD" }, /unsupported operating system: FreeBSD\. .*Linux and macOS/],
      [{ LOKT_INSTALL_ARCH: "mips" }, /unsupported CPU architecture: mips .*x86_64 .*aarch64/],
      [{ LOKT_INSTALL_OS: "Linux", LOKT_INSTALL_ARCH: "armv7l" }, /architecture: armv7l \(Linux\)/],
      [
        { LOKT_INSTALL_OS: "MINGW64_NT-10.0-19045" },
        /On Windows, download lokt-x86_64-pc-windows-msvc\.zip from http:\S+\/latest .*TTL only/,
      ],
    ];
    for (const [env, message] of cases) {
      const run = await sandbox.install(env);
      assertEquals(run.code, 1, show(run));
      assertMatch(run.stderr, message);
      assertMatch(run.stderr, /^lokt install: error: /);
      sandbox.assertNothingInstalled(run);
    }
    assertEquals(sandbox.requests, []);
  },
});

Deno.test({
  name: "install.sh maps amd64 and arm64 to the x86_64 and aarch64 targets",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const pairs: [string, string, string][] = [
      ["Linux", "amd64", "x86_64-unknown-linux-gnu"],
      ["Linux", "aarch64", "aarch64-unknown-linux-gnu"],
      ["Darwin", "x86_64", "x86_64-apple-darwin"],
      ["Darwin", "arm64", "aarch64-apple-darwin"],
    ];
    for (const [os, arch, target] of pairs) {
      sandbox.requests.length = 0;
      // Only this machine's archive exists: the others 404, which is enough to see the name.
      const run = await sandbox.install({ LOKT_INSTALL_OS: os, LOKT_INSTALL_ARCH: arch });
      assertEquals(sandbox.requests[0], `/latest/download/lokt-${target}.tar.gz`, show(run));
    }
  },
});

Deno.test({
  name: "install.sh refuses a LOKT_VERSION that is not a release name",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    for (const version of ["../../etc", "v", "beta", "1.0 && true"]) {
      const run = await sandbox.install({ LOKT_VERSION: version });
      assertEquals(run.code, 1, show(run));
      assertMatch(
        run.stderr,
        /LOKT_VERSION must be latest, or a release such as v0\.2\.0 or 0\.2\.0/,
      );
      sandbox.assertNothingInstalled(run);
    }
    assertEquals(sandbox.requests, []);
  },
});

/** A directory of links to just the tools named, to run the installer with a bare PATH. */
function toolbox(root: string, tools: string[]): string {
  const dir = `${root}/tools-${tools.join("-")}`;
  Deno.mkdirSync(dir);
  for (const tool of tools) {
    const path = findTool(tool);
    if (path) Deno.symlinkSync(path, `${dir}/${tool}`);
  }
  return dir;
}

// What install.sh runs besides a downloader and a hasher (sysctl only on macOS).
const BASE_TOOLS = [
  "uname",
  "mktemp",
  "rm",
  "tar",
  "gzip",
  "awk",
  "tr",
  "dirname",
  "mkdir",
  "cp",
  "chmod",
  "mv",
  "id",
  "cat",
  "sysctl",
];

Deno.test({
  name: "install.sh downloads with wget when curl is missing and verifies with shasum or openssl",
  ignore: NOT_UNIX || !findTool("wget") || !findTool("shasum") || !findTool("openssl"),
  async fn() {
    await using sandbox = await Sandbox.create();
    for (
      const tools of [["curl", "shasum"], ["wget", "openssl"], ["wget", "shasum"], [
        "curl",
        "openssl",
      ]]
    ) {
      const path = toolbox(sandbox.root, [...BASE_TOOLS, ...tools]);
      sandbox.agents.length = 0;
      const run = await sandbox.install({ PATH: path });
      sandbox.assertInstalled(run);
      assertEquals(sandbox.agents.length, 2, `${tools.join(" + ")}: ${show(run)}`);
      for (const agent of sandbox.agents) assertMatch(agent, new RegExp(`^${tools[0]}/`, "i"));
      Deno.removeSync(sandbox.bin, { recursive: true });
    }
  },
});

Deno.test({
  name: "install.sh refuses early when there is no downloader or no SHA-256 tool",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    let run = await sandbox.install({ PATH: toolbox(sandbox.root, [...BASE_TOOLS, "sha256sum"]) });
    assertEquals(run.code, 1, show(run));
    assertMatch(run.stderr, /curl or wget is needed to download lokt/);
    sandbox.assertNothingInstalled(run);

    run = await sandbox.install({ PATH: toolbox(sandbox.root, [...BASE_TOOLS, "curl"]) });
    assertEquals(run.code, 1, show(run));
    assertMatch(run.stderr, /sha256sum, shasum or openssl is needed to verify the download/);
    sandbox.assertNothingInstalled(run);
    assertEquals(sandbox.requests, []);
  },
});

Deno.test({
  name: "install.sh removes its temporary directory when it is terminated mid-download",
  ignore: NOT_UNIX,
  async fn() {
    await using sandbox = await Sandbox.create();
    const { promise: arrived, resolve: arrive } = Promise.withResolvers<void>();
    const { promise: release, resolve: letGo } = Promise.withResolvers<void>();
    sandbox.hold = (path) => {
      if (!path.endsWith(ASSET)) return undefined;
      arrive();
      return release;
    };
    const child = new Deno.Command("sh", {
      args: [INSTALL_SH],
      env: sandbox.env(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).spawn();
    await arrived;
    assertEquals([...Deno.readDirSync(sandbox.tmp)].length, 1, "the download is under way");
    child.kill("SIGTERM");
    // The shell runs its trap once curl returns; let the held response go to get there.
    letGo();
    const output = await child.output();
    const run = {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
    assertEquals(run.code, 143, show(run));
    sandbox.assertNothingInstalled(run);
  },
});

/** Why the unprivileged case cannot run here, if it cannot. */
function unprivilegedSkipReason(): string | undefined {
  if (NOT_UNIX) return "install.sh is for Linux and macOS";
  if (!findTool("setpriv")) return "setpriv (util-linux) is not installed";
  if (Deno.uid() !== 0) return "switching to an unprivileged user needs root";
  return undefined;
}
const unprivilegedSkip = unprivilegedSkipReason();
if (unprivilegedSkip) {
  console.log(`install_test: the not-writable install dir case is ignored: ${unprivilegedSkip}`);
}

Deno.test({
  name: "install.sh reports an install directory it cannot write to and installs nothing",
  // Root may write anywhere, so the installer runs as nobody (uid 65534) through setpriv.
  ignore: unprivilegedSkip !== undefined,
  async fn() {
    await using sandbox = await Sandbox.create();
    // nobody must be able to read the script and use TMPDIR; the locked dir stays root's.
    Deno.chmodSync(sandbox.root, 0o755);
    Deno.chmodSync(sandbox.tmp, 0o1777);
    const script = `${sandbox.root}/install.sh`;
    Deno.copyFileSync(INSTALL_SH, script);
    Deno.chmodSync(script, 0o644);
    const locked = `${sandbox.root}/locked`;
    Deno.mkdirSync(locked, { mode: 0o755 });
    Deno.chmodSync(locked, 0o755);
    const shell = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh"];

    for (const dir of [locked, `${locked}/deeper/bin`]) {
      const run = await sandbox.install({ LOKT_INSTALL_DIR: dir }, { shell, script });
      assertEquals(run.code, 1, show(run));
      assertMatch(
        run.stderr,
        new RegExp(`cannot write to ${escape(locked)} \\(permission denied for user \\S+\\)\\.`),
      );
      assertMatch(run.stderr, /Nothing was installed\. Choose a directory you can write to/);
      assertNotMatch(run.stderr, /sudo/);
      sandbox.assertNothingInstalled(run, locked);
    }

    // The same user can install where it may write: the refusal was about the directory.
    const open = `${sandbox.root}/open`;
    Deno.mkdirSync(open);
    Deno.chmodSync(open, 0o777);
    const run = await sandbox.install({ LOKT_INSTALL_DIR: open }, { shell, script });
    sandbox.assertInstalled(run, open);
    assertEquals(Deno.statSync(`${open}/lokt`).uid, 65534);
  },
});
