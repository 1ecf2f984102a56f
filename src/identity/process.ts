/**
 * Facts about processes and the machine, behind one small interface so that the liveness rules
 * can be tested with plain values. Real implementations live in `proc_linux.ts`, `proc_darwin.ts`
 * and `proc_other.ts`.
 */

/** What identifies this machine's process table: host name, boot and pid namespace. */
export interface MachineFacts {
  /** Host name as the OS reports it. */
  host: string;
  /** Changes at every boot; undefined where the platform has no cheap equivalent. */
  bootId?: string;
  /** Identifies the pid namespace lokt runs in (Linux only). */
  pidNs?: string;
}

/** One row of the process table. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Session id (Linux: `/proc`; macOS: `getsid(2)`), or undefined where unknown. */
  sid?: number;
  /**
   * Opaque start-time token: equal tokens for the same pid mean the same process. Linux: clock
   * ticks since boot; macOS: the start time in seconds since the epoch.
   */
  start: string;
  /** True for a zombie: it has exited and waits to be reaped. */
  zombie: boolean;
  /** Short executable name. */
  comm: string;
  /** The command line, when the probe got it for free (macOS). */
  argv?: string[];
}

/** Whether a recorded process is still the same running process. */
export type ProcessState = "alive" | "dead" | "unknown";

/** Reads process facts. Every method is cheap enough for lokt's start-up path on Linux. */
export interface ProcessProbe {
  /** Facts about this machine, computed once. */
  machine(): MachineFacts;
  /** The process with this pid, or undefined if there is none (or it is invisible). */
  info(pid: number): ProcessInfo | undefined;
  /** The command line of a process, or undefined when it cannot be read. */
  commandLine(pid: number): string[] | undefined;
  /** The ancestors of `pid`, nearest first (its parent, grandparent, ...), excluding pid 0. */
  ancestors(pid: number): ProcessInfo[];
  /**
   * Is there a live process whose environment holds `key=value`? Undefined when the platform
   * cannot tell. Used as extra evidence that a guarded command (or its descendants) still runs.
   */
  environmentCarrier(key: string, value: string): number | undefined | null;
  /** Is `pid` alive at all (no start-time check)? Used when `info` cannot see the process. */
  exists(pid: number): boolean | undefined;
}

/** Judges a recorded (pid, start) pair against the live process table. */
export function processState(probe: ProcessProbe, pid: number, start?: string): ProcessState {
  if (!Number.isInteger(pid) || pid <= 0) return "unknown";
  const info = probe.info(pid);
  if (info === undefined) {
    // Invisible is not the same as gone (hidepid, another user on macOS): ask the kernel.
    const exists = probe.exists(pid);
    if (exists === undefined) return "unknown";
    return exists ? (start === undefined ? "alive" : "unknown") : "dead";
  }
  if (info.zombie) return "dead";
  if (start !== undefined && info.start !== start) return "dead"; // the pid was recycled
  return "alive";
}

/** Probes whether a pid exists with signal 0: NotFound means gone, PermissionDenied means alive. */
export function signalZeroProbe(pid: number): boolean | undefined {
  try {
    Deno.kill(pid, 0 as unknown as Deno.Signal);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.PermissionDenied) return true;
    return undefined;
  }
}
