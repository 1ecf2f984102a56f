import type { MachineFacts, ProcessInfo, ProcessProbe } from "./process.ts";
import { signalZeroProbe } from "./process.ts";

/** Parses `/proc/<pid>/stat`. The command name may hold spaces and parentheses. */
export function parseProcStat(pid: number, text: string): ProcessInfo | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 of proc(5): state; ppid is 4, session 6, starttime 22.
  const state = fields[0];
  const ppid = Number(fields[1]);
  const sid = Number(fields[3]);
  const start = fields[19];
  if (state === undefined || start === undefined || !Number.isInteger(ppid)) return undefined;
  return {
    pid,
    ppid,
    sid: Number.isInteger(sid) ? sid : undefined,
    start,
    zombie: state === "Z" || state === "X",
    comm: text.slice(open + 1, close),
  };
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Reads process facts from `/proc`. */
export class LinuxProbe implements ProcessProbe {
  #machine?: MachineFacts;

  machine(): MachineFacts {
    if (this.#machine) return this.#machine;
    let pidNs: string | undefined;
    try {
      pidNs = Deno.readLinkSync("/proc/self/ns/pid").replace(/^pid:\[(\d+)\]$/, "$1");
    } catch {
      pidNs = undefined;
    }
    this.#machine = {
      host: Deno.hostname(),
      bootId: readText("/proc/sys/kernel/random/boot_id")?.trim(),
      pidNs,
    };
    return this.#machine;
  }

  info(pid: number): ProcessInfo | undefined {
    const text = readText(`/proc/${pid}/stat`);
    return text === undefined ? undefined : parseProcStat(pid, text);
  }

  commandLine(pid: number): string[] | undefined {
    const text = readText(`/proc/${pid}/cmdline`);
    if (text === undefined) return undefined;
    return text.split("\0").filter((part) => part.length > 0);
  }

  ancestors(pid: number): ProcessInfo[] {
    const chain: ProcessInfo[] = [];
    let next = this.info(pid)?.ppid ?? 0;
    while (next > 0 && chain.length < 64) {
      const info = this.info(next);
      if (info === undefined) break;
      chain.push(info);
      next = info.ppid;
    }
    return chain;
  }

  environmentCarrier(key: string, value: string): number | null {
    const needle = new TextEncoder().encode(`\0${key}=${value}\0`);
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid) || pid === Deno.pid) continue;
      let bytes: Uint8Array;
      try {
        bytes = Deno.readFileSync(`/proc/${pid}/environ`);
      } catch {
        continue; // gone, or another user's process
      }
      if (!containsEntry(bytes, needle)) continue;
      const info = this.info(pid);
      if (info !== undefined && !info.zombie) return pid;
    }
    return null;
  }

  exists(pid: number): boolean | undefined {
    return signalZeroProbe(pid);
  }
}

/** Does the NUL-separated environment block contain `needle` (`\0KEY=VALUE\0`)? */
function containsEntry(block: Uint8Array, needle: Uint8Array): boolean {
  // The first entry has no leading NUL; compare it against the needle without its first byte.
  if (startsWith(block, 0, needle, 1)) return true;
  outer: for (let i = 0; i + needle.length <= block.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (block[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  // The last entry may lack its trailing NUL.
  return endsWith(block, needle.subarray(0, needle.length - 1));
}

function startsWith(block: Uint8Array, at: number, needle: Uint8Array, from: number): boolean {
  if (block.length - at < needle.length - from) return false;
  for (let j = from; j < needle.length; j++) if (block[at + j - from] !== needle[j]) return false;
  return true;
}

function endsWith(block: Uint8Array, tail: Uint8Array): boolean {
  if (block.length < tail.length) return false;
  return startsWith(block, block.length - tail.length, tail, 0);
}
