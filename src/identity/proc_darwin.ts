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

/** Reads process facts on macOS through `ps` and `sysctl` (there is no `/proc`). */
export class DarwinProbe implements ProcessProbe {
  #machine?: MachineFacts;

  machine(): MachineFacts {
    if (this.#machine) return this.#machine;
    const boot = run("sysctl", ["-n", "kern.boottime"])?.match(/sec = (\d+)/)?.[1];
    this.#machine = { host: Deno.hostname(), bootId: boot };
    return this.#machine;
  }

  info(pid: number): ProcessInfo | undefined {
    return parsePs(run("ps", ["-o", PS_COLUMNS, "-p", String(pid)]))[0];
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
      chain.push(info);
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
