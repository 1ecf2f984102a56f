/** The outside world of the CLI, passed in so the whole CLI can run in-process under test. */

import type { ProcessProbe } from "../identity/process.ts";
import { osUserName } from "../identity/user.ts";
import { lazy } from "../lazy.ts";

/** Everything the CLI reads from or writes to outside itself. */
export interface World {
  env(name: string): string | undefined;
  /** The whole environment (for guarded commands). */
  envObject(): Record<string, string>;
  cwd(): string;
  /** Wall clock, epoch milliseconds. */
  now(): number;
  pid: number;
  os: typeof Deno.build.os;
  /** Process facts; created on first use. */
  probe(): ProcessProbe;
  /** The OS user name from the user database, for when the environment does not say. */
  userName(): string | undefined;
  out(text: string): void;
  err(text: string): void;
  /** Is stderr a terminal (progress lines may then be redrawn)? */
  errIsTerminal(): boolean;
  /** Has the reader of stdout gone away (`lokt audit --tail | head -1`)? Absent: never. */
  outClosed?(): boolean;
  /** All of stdin, as text (`lokt hook` reads its input there). Absent: stdin is empty. */
  readStdin?(): Promise<string>;
}

const encoder = new TextEncoder();

/** Whether a write to stdout found the pipe closed. */
let stdoutClosed = false;

/** Writes all of `text`; returns false when the reader has closed the pipe. */
function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): boolean {
  const bytes = encoder.encode(text);
  let off = 0;
  try {
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  } catch (error) {
    // A closed pipe (`lokt status | head`) is the reader's choice, not an error of ours.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    return false;
  }
  return true;
}

/**
 * All of stdin as text, read synchronously: a web stream (`Deno.stdin.readable`) costs more to
 * set up than the hook it feeds takes to decide.
 */
function readAllStdin(): string {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let size = 0;
  for (;;) {
    const n = Deno.stdin.readSync(buffer);
    if (n === null || n === 0) break;
    chunks.push(buffer.slice(0, n));
    size += n;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}

async function loadProbe(): Promise<ProcessProbe> {
  switch (Deno.build.os) {
    case "linux":
    case "android": {
      const { LinuxProbe }: typeof import("../identity/proc_linux.ts") = await import(
        lazy("../identity/proc_linux.ts")
      );
      return new LinuxProbe();
    }
    case "darwin": {
      const { DarwinProbe }: typeof import("../identity/proc_darwin.ts") = await import(
        lazy("../identity/proc_darwin.ts")
      );
      return new DarwinProbe();
    }
    default: {
      const { OpaqueProbe }: typeof import("../identity/proc_other.ts") = await import(
        lazy("../identity/proc_other.ts")
      );
      return new OpaqueProbe();
    }
  }
}

/** The real world, with the platform's process probe loaded up front. */
export async function realWorld(): Promise<World> {
  const probe = await loadProbe();
  return {
    env: (name) => Deno.env.get(name),
    envObject: () => Deno.env.toObject(),
    cwd: () => Deno.cwd(),
    now: () => Date.now(),
    pid: Deno.pid,
    os: Deno.build.os,
    probe: () => probe,
    userName: osUserName,
    out: (text) => {
      if (!writeAll(Deno.stdout, text)) stdoutClosed = true;
    },
    err: (text) => void writeAll(Deno.stderr, text),
    errIsTerminal: () => Deno.stderr.isTerminal(),
    outClosed: () => stdoutClosed,
    readStdin: () => Promise.resolve(readAllStdin()),
  };
}
