/** A process probe over a made-up process table, for tests of identity and liveness rules. */

import type { MachineFacts, ProcessInfo, ProcessProbe } from "../../src/identity/process.ts";
import type { Claim } from "../../src/locks/holder.ts";

/** A plain-lock holder on the fake machine `box` whose lock follows `pid` (as `--pid` does). */
export function flagClaim(agentId: string, pid: number): Claim {
  return {
    owner: "tester",
    host: "box",
    agentId,
    process: { pid, start: `s${pid}`, source: "flag" },
    ancestors: [],
    pid,
  };
}

/** A scripted process table. */
export class FakeProbe implements ProcessProbe {
  readonly processes = new Map<
    number,
    ProcessInfo & { argv?: string[]; env?: Record<string, string> }
  >();
  facts: MachineFacts;

  constructor(facts: MachineFacts = { host: "box", bootId: "boot-1", pidNs: "ns-1" }) {
    this.facts = facts;
  }

  /** Adds a process (start "s<pid>" unless given). */
  add(
    p: Partial<ProcessInfo> & { pid: number; argv?: string[]; env?: Record<string, string> },
  ): this {
    this.processes.set(p.pid, {
      ppid: 0,
      start: `s${p.pid}`,
      zombie: false,
      comm: "sh",
      ...p,
    });
    return this;
  }

  machine(): MachineFacts {
    return this.facts;
  }

  info(pid: number): ProcessInfo | undefined {
    return this.processes.get(pid);
  }

  commandLine(pid: number): string[] | undefined {
    return this.processes.get(pid)?.argv;
  }

  ancestors(pid: number): ProcessInfo[] {
    const chain: ProcessInfo[] = [];
    let next = this.processes.get(pid)?.ppid ?? 0;
    while (next > 0) {
      const p = this.processes.get(next);
      if (p === undefined) break;
      chain.push(p);
      next = p.ppid;
    }
    return chain;
  }

  environmentCarrier(key: string, value: string): number | null {
    for (const p of this.processes.values()) {
      if (!p.zombie && p.env?.[key] === value) return p.pid;
    }
    return null;
  }

  exists(pid: number): boolean {
    return this.processes.has(pid);
  }
}
