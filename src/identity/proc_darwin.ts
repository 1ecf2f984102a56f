import type { MachineFacts, ProcessInfo, ProcessProbe } from "./process.ts";
import { signalZeroProbe } from "./process.ts";

const decoder = new TextDecoder();
const PS_COLUMNS = "pid=,ppid=,stat=,tty=,lstart=,args=";

function run(cmd: string, args: string[]): string | undefined {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? decoder.decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/** Parses one line of `ps -o pid=,ppid=,stat=,tty=,lstart=,args=`. */
export function parsePsLine(line: string): ProcessInfo | undefined {
  // lstart is five words: "Sun Nov 22 05:08:38 2026".
  const m = line.trim().match(
    /^(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+\w{3}\s+(\w{3})\s+(\d+)\s+(\d+):(\d+):(\d+)\s+(\d+)\s+(.*)$/,
  );
  if (!m) return undefined;
  const [, pid, ppid, stat, tty, mon, day, hh, mm, ss, year, args] = m;
  const month = MONTHS.indexOf(mon) / 3;
  const start = new Date(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss));
  const argv = args.trim().split(/\s+/);
  return {
    pid: Number(pid),
    ppid: Number(ppid),
    start: String(Math.floor(start.getTime() / 1000)),
    zombie: stat.startsWith("Z"),
    comm: (argv[0] ?? "").split("/").pop()?.replace(/^-/, "") ?? "",
    tty: tty === "??" || tty === "-" ? undefined : tty,
    argv,
  };
}

function parsePs(out: string | undefined): ProcessInfo[] {
  if (out === undefined) return [];
  return out.split("\n").map(parsePsLine).filter((p): p is ProcessInfo => p !== undefined);
}

/**
 * `getsid(2)` from libSystem: `ps` shows no session id on macOS (its `sess` is a kernel pointer).
 * Undefined for a process it cannot tell (gone), and for every process where the library cannot
 * be opened (no FFI permission), so the session is then unknown.
 */
export function libSystemGetsid(): (pid: number) => number | undefined {
  let getsid: ((pid: number) => number) | undefined;
  try {
    const lib = Deno.dlopen("/usr/lib/libSystem.B.dylib", {
      getsid: { parameters: ["i32"], result: "i32" },
    });
    getsid = (pid) => lib.symbols.getsid(pid);
  } catch {
    getsid = undefined;
  }
  return (pid) => {
    const sid = getsid?.(pid);
    return sid === undefined || sid <= 0 ? undefined : sid;
  };
}

/** Reads process facts on macOS through `ps`, `sysctl` and `getsid(2)` (there is no `/proc`). */
export class DarwinProbe implements ProcessProbe {
  #machine?: MachineFacts;
  #getsid?: (pid: number) => number | undefined;
  readonly #openGetsid: () => (pid: number) => number | undefined;

  /** `getsid` is injectable for tests; by default it is opened from libSystem on first use. */
  constructor(getsid: () => (pid: number) => number | undefined = libSystemGetsid) {
    this.#openGetsid = getsid;
  }

  #withSession(info: ProcessInfo | undefined): ProcessInfo | undefined {
    if (info === undefined) return undefined;
    this.#getsid ??= this.#openGetsid();
    return { ...info, sid: this.#getsid(info.pid) };
  }

  machine(): MachineFacts {
    if (this.#machine) return this.#machine;
    const boot = run("sysctl", ["-n", "kern.boottime"])?.match(/sec = (\d+)/)?.[1];
    this.#machine = { host: Deno.hostname(), bootId: boot };
    return this.#machine;
  }

  info(pid: number): ProcessInfo | undefined {
    return this.#withSession(parsePs(run("ps", ["-o", PS_COLUMNS, "-p", String(pid)]))[0]);
  }

  commandLine(pid: number): string[] | undefined {
    return this.info(pid)?.argv;
  }

  ancestors(pid: number): ProcessInfo[] {
    const table = new Map(parsePs(run("ps", ["-A", "-o", PS_COLUMNS])).map((p) => [p.pid, p]));
    const chain: ProcessInfo[] = [];
    let next = table.get(pid)?.ppid ?? 0;
    while (next > 0 && chain.length < 64) {
      const info = table.get(next);
      if (info === undefined) break;
      chain.push(this.#withSession(info)!);
      next = info.ppid;
    }
    return chain;
  }

  environmentCarrier(): undefined {
    return undefined; // other processes' environments are not readable on macOS
  }

  exists(pid: number): boolean | undefined {
    return signalZeroProbe(pid);
  }
}
