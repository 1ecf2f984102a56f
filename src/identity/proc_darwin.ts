import type { MachineFacts, ProcessInfo, ProcessProbe } from "./process.ts";
import { signalZeroProbe } from "./process.ts";
import { parseBootSessionUuid, parsePsOutput, PS_COLUMNS, PS_ENV } from "./darwin_parse.ts";

/** Runs a command and returns its stdout, or undefined when it cannot run or fails. */
export type RunCommand = (
  cmd: string,
  args: string[],
  env?: Readonly<Record<string, string>>,
) => string | undefined;

const decoder = new TextDecoder();

function runCommand(
  cmd: string,
  args: string[],
  env?: Readonly<Record<string, string>>,
): string | undefined {
  try {
    const out = new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? decoder.decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
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

/** What the macOS probe reads through; injectable so that tests run it on recorded output. */
export interface DarwinSources {
  /** Runs `ps` and `sysctl`. */
  run: RunCommand;
  /** Opens `getsid(2)`, called once on first use. */
  getsid: () => (pid: number) => number | undefined;
}

/**
 * Reads process facts on macOS (there is no `/proc`): `ps` in the C locale and UTC for the
 * process table, `getsid(2)` for sessions, `sysctl kern.bootsessionuuid` for the boot. The
 * parsing is in `darwin_parse.ts`.
 */
export class DarwinProbe implements ProcessProbe {
  #machine?: MachineFacts;
  #getsid?: (pid: number) => number | undefined;
  readonly #sources: DarwinSources;

  constructor(sources: Partial<DarwinSources> = {}) {
    this.#sources = { run: runCommand, getsid: libSystemGetsid, ...sources };
  }

  machine(): MachineFacts {
    if (this.#machine) return this.#machine;
    const uuid = this.#sources.run("sysctl", ["-n", "kern.bootsessionuuid"]);
    this.#machine = {
      host: Deno.hostname(),
      bootId: uuid === undefined ? undefined : parseBootSessionUuid(uuid),
    };
    return this.#machine;
  }

  #ps(args: string[]): ProcessInfo[] {
    const out = this.#sources.run("ps", [...args, "-o", PS_COLUMNS], PS_ENV);
    return out === undefined ? [] : parsePsOutput(out);
  }

  #withSession(info: ProcessInfo): ProcessInfo {
    this.#getsid ??= this.#sources.getsid();
    return { ...info, sid: this.#getsid(info.pid) };
  }

  info(pid: number): ProcessInfo | undefined {
    const info = this.#ps(["-p", String(pid)]).find((p) => p.pid === pid);
    return info === undefined ? undefined : this.#withSession(info);
  }

  commandLine(pid: number): string[] | undefined {
    return this.info(pid)?.argv;
  }

  ancestors(pid: number): ProcessInfo[] {
    const table = new Map(this.#ps(["-A"]).map((p) => [p.pid, p]));
    const chain: ProcessInfo[] = [];
    let next = table.get(pid)?.ppid ?? 0;
    while (next > 0 && chain.length < 64) {
      const info = table.get(next);
      if (info === undefined) break;
      chain.push(this.#withSession(info));
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
