/**
 * Benchmark worker: takes a lock, holds it, releases it, and reports each moment on stdout as
 * `req <ms>` (about to ask), `acq <ms>` (holding) and `rel <ms>` (about to release), in epoch
 * milliseconds from `performance.timeOrigin + performance.now()`, so stamps from different
 * processes compare.
 *
 *   deno run -A bench/worker.ts --kind lokt|kernel --target ROOT_OR_FILE [--name x]
 *                               [--hold MS|stdin] [--loops N]
 *
 * `lokt` waits with the library (`acquire(name, { wait: true, root })`), `kernel` with a bare
 * `flock` on a file (`Deno.FsFile.lock`), the floor any file lock can reach from Deno.
 * `--hold stdin` holds until a line arrives on stdin.
 */

import { acquire } from "../mod.ts";
import { wallMs } from "./setup.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const kind = flag("kind", "lokt");
const target = flag("target", "");
const name = flag("name", "x");
const hold = flag("hold", "0");
const loops = Number(flag("loops", "1"));
if (target === "" || (kind !== "lokt" && kind !== "kernel")) {
  console.error("usage: worker.ts --kind lokt|kernel --target PATH [--hold MS|stdin] [--loops N]");
  Deno.exit(64);
}

const encoder = new TextEncoder();
function stamp(what: "req" | "acq" | "rel"): void {
  Deno.stdout.writeSync(encoder.encode(`${what} ${wallMs().toFixed(3)}\n`));
}

async function holdIt(): Promise<void> {
  if (hold === "stdin") {
    for await (const _ of Deno.stdin.readable) return;
    return;
  }
  const holdMs = Number(hold);
  if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
}

async function once(): Promise<void> {
  if (kind === "lokt") {
    stamp("req");
    const lock = await acquire(name, { wait: true, root: target });
    stamp("acq");
    await holdIt();
    stamp("rel");
    await lock.release();
  } else {
    stamp("req");
    const file = await Deno.open(target, { read: true, write: true, create: true });
    await file.lock(true);
    stamp("acq");
    await holdIt();
    stamp("rel");
    file.close(); // closing the descriptor drops the flock
  }
}

for (let i = 0; i < loops; i++) await once();
