/**
 * Fault injection helpers: run lokt as a user that file permissions apply to, and inside a
 * private mount namespace with a tiny tmpfs. Each says plainly why it cannot run on a machine.
 */

import { type CliResult, holderEnv, MAIN, REPO } from "../helpers/cli.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";
import { assert, assertNotMatch } from "../helpers/assert.ts";

/** uid and gid of `nobody`. */
export const NOBODY = 65534;

const decoder = new TextDecoder();

async function exec(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<CliResult> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      env: options.env,
      clearEnv: options.clearEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    return { code: 127, stdout: "", stderr: String(error) };
  }
}

/** Runs lokt as a user that permissions apply to: this one, or `nobody` when this is root. */
export interface Unprivileged {
  /** Spawns lokt with `env` (plus a HOME and DENO_DIR of its own) as the unprivileged user. */
  lokt(args: string[], env: Record<string, string>): Promise<CliResult>;
  /** Makes `path` belong to the unprivileged user (a no-op when not root). */
  own(path: string): void;
}

/**
 * Finds out how to run lokt unprivileged here: as this user when it is not root, else as
 * `nobody` through `setpriv` (util-linux). `nobody` must be able to read the deno binary and the
 * checkout; when it cannot (a checkout under /root), both are copied into `scratch` first.
 * Returns the reason when neither works; throws when lokt does not run even as this user.
 */
export async function unprivileged(scratch: string): Promise<Unprivileged | string> {
  Deno.chmodSync(scratch, 0o755);
  const home = `${scratch}/home`;
  Deno.mkdirSync(home, { recursive: true, mode: 0o755 });
  const root = Deno.uid() === 0;
  if (root) Deno.chownSync(home, NOBODY, NOBODY);
  const runner = (deno: string, main: string) => (args: string[], env: Record<string, string>) =>
    exec(
      root ? "setpriv" : deno,
      [
        ...(root ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", deno] : []),
        ...RUN_ARGS,
        main,
        ...args,
      ],
      { env: { ...env, HOME: home, DENO_DIR: `${home}/deno` }, clearEnv: true },
    );
  const works = async (run: Unprivileged["lokt"]) => {
    const probe = await run(["version"], holderEnv(`${scratch}/probe-root`, "probe"));
    return probe.code === 0
      ? undefined
      : probe.stderr.trim().split("\n")[0] || `exit ${probe.code}`;
  };
  // lokt that does not run as this very user is a failure, never a reason to skip.
  const self = await exec(Deno.execPath(), [...RUN_ARGS, MAIN, "version"], {
    env: holderEnv(`${scratch}/probe-root`, "probe"),
    clearEnv: true,
  });
  if (self.code !== 0) throw new Error(`lokt version exited ${self.code}: ${self.stderr}`);
  if (!root) return { lokt: runner(Deno.execPath(), MAIN), own() {} };
  let run = runner(Deno.execPath(), MAIN);
  let problem = await works(run);
  if (problem !== undefined) {
    run = runner(...stage(scratch));
    problem = await works(run);
  }
  if (problem !== undefined) {
    return `cannot run lokt as nobody with setpriv (${problem}), not even from a copy`;
  }
  return {
    lokt: run,
    own(path: string) {
      Deno.chownSync(path, NOBODY, NOBODY);
    },
  };
}

/** Copies the deno binary, main.ts and src/ where everyone can read them; returns their paths. */
function stage(scratch: string): [string, string] {
  const app = `${scratch}/app`;
  Deno.mkdirSync(app, { recursive: true, mode: 0o755 });
  Deno.chmodSync(app, 0o755);
  const copy = (from: string, to: string) => {
    if (Deno.statSync(from).isDirectory) {
      Deno.mkdirSync(to, { mode: 0o755 });
      Deno.chmodSync(to, 0o755);
      for (const entry of Deno.readDirSync(from)) {
        copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
      }
    } else {
      Deno.copyFileSync(from, to);
      Deno.chmodSync(to, 0o644);
    }
  };
  copy(MAIN, `${app}/main.ts`);
  copy(`${REPO}/src`, `${app}/src`);
  const deno = `${scratch}/deno`;
  Deno.copyFileSync(Deno.execPath(), deno);
  Deno.chmodSync(deno, 0o755);
  return [deno, `${app}/main.ts`];
}

/** A message from lokt itself: an `error:` line, no stack trace, no internal-error hint. */
export function assertCleanError(result: CliResult, message: RegExp): void {
  assert(message.test(result.stderr), `expected ${message} in stderr:\n${result.stderr}`);
  assert(/^error: \S/m.test(result.stderr), `no error line:\n${result.stderr}`);
  assertNotMatch(result.stderr, /^\s+at |bug in lokt/m, "no stack trace, no internal error");
}

/** Prints why a group of tests does not run here (Deno shows them as ignored). */
export function explainSkip(what: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  console.log(`fault tests "${what}" are skipped on this machine: ${reason}`);
  return true;
}

/** Whether a private mount namespace can be made here (`unshare -m true`), or why not. */
export async function mountNamespaceProblem(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "mount namespaces exist on Linux only";
  const check = await exec("unshare", ["-m", "true"]);
  if (check.code === 0) return undefined;
  return `\`unshare -m true\` failed (${check.stderr.trim().split("\n")[0] || check.code})`;
}

/** Answers of the process that runs inside the namespace. */
type Reply = Record<string, unknown>;

/**
 * A process inside a private mount namespace with a small tmpfs mounted at `dir`, taking
 * requests over its stdin (`tmpfs_server.ts`): run lokt, fill or free the disk, read and list
 * files. The mount is invisible outside the namespace and goes away with it.
 */
export class TmpfsNamespace {
  readonly dir: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(dir: string, child: Deno.ChildProcess) {
    this.dir = dir;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      [Symbol.asyncIterator]();
  }

  /** Mounts a tmpfs of `sizeKb` at `dir` in a new namespace. */
  static async open(dir: string, sizeKb: number): Promise<TmpfsNamespace> {
    const server = new URL("./tmpfs_server.ts", import.meta.url).pathname;
    const child = new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        Deno.execPath(),
        "run",
        "-A",
        server,
        dir,
        String(sizeKb),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const ns = new TmpfsNamespace(dir, child);
    const ready = await ns.#read();
    if (ready.ready !== true) throw new Error(`tmpfs namespace failed: ${JSON.stringify(ready)}`);
    return ns;
  }

  async #read(): Promise<Reply> {
    const next = await this.#lines.next();
    if (next.done) throw new Error("the namespace process ended");
    return JSON.parse(next.value);
  }

  async #ask(request: Reply): Promise<Reply> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const reply = await this.#read();
    if (typeof reply.failure === "string") throw new Error(reply.failure);
    return reply;
  }

  /** Runs lokt inside the namespace. */
  async lokt(args: string[], env: Record<string, string>): Promise<CliResult> {
    return await this.#ask({ op: "lokt", args, env }) as unknown as CliResult;
  }

  /** Fills the file system until it refuses another byte; returns the bytes written. */
  async fill(): Promise<number> {
    return (await this.#ask({ op: "fill" })).bytes as number;
  }

  /** Removes what {@link fill} wrote. */
  async free(): Promise<void> {
    await this.#ask({ op: "free" });
  }

  /** The text of a file, or undefined when it does not exist. */
  async read(path: string): Promise<string | undefined> {
    return (await this.#ask({ op: "read", path })).text as string | undefined;
  }

  /** Writes `text` to a file (an empty one takes no space on the disk). */
  async write(path: string, text: string): Promise<void> {
    await this.#ask({ op: "write", path, text });
  }

  /** The names in a directory, sorted. */
  async list(path: string): Promise<string[]> {
    return (await this.#ask({ op: "list", path })).names as string[];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // already closed
    }
    await this.#child.status;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      let at: number;
      while ((at = buffer.indexOf("\n")) >= 0) {
        controller.enqueue(buffer.slice(0, at));
        buffer = buffer.slice(at + 1);
      }
    },
  });
}
