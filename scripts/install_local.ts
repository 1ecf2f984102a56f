/**
 * `deno task install`: puts a `lokt` command on this machine that runs this checkout, so edits
 * take effect without a build. It writes a small sh wrapper into `LOKT_INSTALL_DIR` (default
 * `~/.local/bin`) that execs `deno run -A --v8-flags=... <checkout>/main.ts "$@"` (lokt's V8 flags,
 * src/run_flags.ts), then runs `lokt version`.
 *
 *   deno task install
 *   LOKT_INSTALL_DIR=~/bin deno task install
 *
 * Rerun it after moving the checkout. Not for Windows: there, use `deno task lokt` or
 * `deno run -A jsr:@lokt/cli`.
 *
 * @module
 */

import { RUN_FLAG } from "../src/run_flags.ts";

/** Quotes `text` for sh, where nothing inside single quotes is special but the quote itself. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The wrapper: runs `<repo>/main.ts` with the Deno that installed it while that still exists
 * (a known-good version), else with the `deno` on PATH.
 */
export function wrapperScript(repo: string, deno: string): string {
  return `#!/bin/sh
# lokt from the checkout at ${repo.replaceAll("\n", " ")}
# Written by \`deno task install\`: rerun that if the checkout moves.
deno=${shellQuote(deno)}
[ -x "$deno" ] || deno=deno
exec "$deno" run -A ${RUN_FLAG} ${shellQuote(`${repo}/main.ts`)} "$@"
`;
}

/** The line that puts `dir` on PATH, with `$HOME` kept symbolic when `dir` is under it. */
export function pathLine(dir: string, home: string | undefined): string {
  const shown = home && home !== "/" && dir.startsWith(`${home}/`)
    ? `$HOME${dir.slice(home.length)}`
    : dir;
  return `export PATH="${shown}:$PATH"`;
}

/**
 * Writes the wrapper for `repo` as `<dir>/lokt` with mode 0755, creating `dir` if needed. It
 * appears complete or not at all (written beside it, then renamed). Returns its path.
 */
export function installWrapper(repo: string, dir: string, deno: string): string {
  Deno.mkdirSync(dir, { recursive: true });
  const target = `${dir}/lokt`;
  const staged = `${dir}/.lokt.install.${Deno.pid}`;
  try {
    Deno.writeTextFileSync(staged, wrapperScript(repo, deno), { mode: 0o755 });
    // The mode given at creation is filtered by the umask; this one is not.
    Deno.chmodSync(staged, 0o755);
    Deno.renameSync(staged, target);
  } catch (error) {
    try {
      Deno.removeSync(staged);
    } catch {
      // never written
    }
    throw error;
  }
  return target;
}

function fail(message: string): never {
  console.error(`lokt install: error: ${message}`);
  Deno.exit(1);
}

if (import.meta.main) {
  if (Deno.build.os === "windows") {
    fail("not for Windows: run `deno task lokt` here, or `deno run -A jsr:@lokt/cli`");
  }
  const repo = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
  const home = Deno.env.get("HOME");
  let dir = Deno.env.get("LOKT_INSTALL_DIR") || (home ? `${home}/.local/bin` : "");
  if (!dir) fail("HOME is not set: set LOKT_INSTALL_DIR to the directory for lokt");
  if (home && (dir === "~" || dir.startsWith("~/"))) dir = home + dir.slice(1);
  if (!dir.startsWith("/")) dir = `${Deno.cwd()}/${dir}`;
  dir = dir.replace(/(.)\/+$/, "$1");

  let target: string;
  try {
    target = installWrapper(repo, dir, Deno.execPath());
  } catch (error) {
    const why = error instanceof Deno.errors.PermissionDenied
      ? "permission denied. Choose a directory you can write to with LOKT_INSTALL_DIR"
      : error instanceof Error
      ? error.message
      : String(error);
    fail(`cannot install lokt into ${dir}: ${why}. Nothing was installed.`);
  }
  console.log(`lokt install: installed ${target}, which runs ${repo}/main.ts`);

  const onPath = (Deno.env.get("PATH") ?? "").split(":").some((entry) =>
    entry.replace(/(.)\/+$/, "$1") === dir
  );
  if (!onPath) {
    console.log(
      `lokt install: ${dir} is not on your PATH. Add this line to your shell's profile ` +
        `(~/.profile, ~/.bashrc or ~/.zshrc), then open a new terminal:\n    ${
          pathLine(dir, home)
        }`,
    );
  }

  const status = await new Deno.Command(target, { args: ["version"], stdin: "null" }).spawn()
    .status;
  if (!status.success) fail(`${target} was installed, but \`lokt version\` failed`);
}
