/**
 * What the soak reads back once its workers are done: the audit log, the holders' journals, the
 * files left under the lock root, and the resident memory of long-lived processes.
 */

import { decodeEventLine, EVENT_NAMES } from "../../src/audit/event.ts";
import { rotatedLogs } from "../../src/audit/writer.ts";
import { dirNames } from "../helpers/cli.ts";

/** The audit log, rotated files included. */
export interface AuditSummary {
  files: number;
  lines: number;
  /** Lines `decodeEventLine` rejects, or with an event lokt does not write. */
  unparsable: string[];
  /** Lines per event name. */
  events: Record<string, number>;
  /** `name#fence` of every `acquire` event. */
  acquired: Set<string>;
}

/** Reads every line of the audit log at `path` and of its rotated files. */
export function readAuditLog(path: string): AuditSummary {
  const paths = [...rotatedLogs(path).map((r) => r.path), path];
  const summary: AuditSummary = {
    files: 0,
    lines: 0,
    unparsable: [],
    events: {},
    acquired: new Set(),
  };
  for (const file of paths) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    summary.files++;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      summary.lines++;
      const event = decodeEventLine(line);
      if (event === undefined || !(EVENT_NAMES as readonly string[]).includes(event.event)) {
        summary.unparsable.push(`${file}: ${line.slice(0, 300)}`);
        continue;
      }
      summary.events[event.event] = (summary.events[event.event] ?? 0) + 1;
      if (event.event === "acquire") summary.acquired.add(`${event.name}#${event.record.fence}`);
    }
  }
  return summary;
}

/** Files under a lock root that a finished, released holder must not leave behind. */
export interface Leftovers {
  locks: string[];
  freezes: string[];
  /** `<name>/<ticket>` of every queue ticket. */
  tickets: string[];
  tmp: string[];
}

/** Lists the lock files, freezes, queue tickets and temporary files under `root`. */
export function leftovers(root: string): Leftovers {
  const tickets: string[] = [];
  for (const name of dirNames(`${root}/queue`)) {
    for (const ticket of dirNames(`${root}/queue/${name}`)) tickets.push(`${name}/${ticket}`);
  }
  return {
    locks: dirNames(`${root}/locks`),
    freezes: dirNames(`${root}/freezes`),
    tickets,
    tmp: dirNames(`${root}/tmp`),
  };
}

/** True when nothing is left. */
export function isClean(left: Leftovers): boolean {
  return left.locks.length + left.freezes.length + left.tickets.length + left.tmp.length === 0;
}

/** The pid of the waiter a ticket under `root` names, or undefined if unreadable. */
export function ticketPid(root: string, ticket: string): number | undefined {
  try {
    const pid = Number(JSON.parse(Deno.readTextFileSync(`${root}/queue/${ticket}`)).pid);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while `/proc/<pid>` exists (Linux). */
export function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The resident set size of `pid` in kB, from `/proc/<pid>/status`; undefined once it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Lines of a journal file (empty if it does not exist). */
export function journal(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Critical sections entered, per kind of holder. */
export function acquisitions(journal: Entry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { kind } of journal) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** One entry of the fence journal: a holder entered the critical section of `name`. */
export interface Entry {
  name: string;
  /** The fence it was given; undefined without a lock (the negative control). */
  fence?: number;
  kind: string;
  who: string;
}

/** Parses the fence journal (`name fence kind who` per line). */
export function entries(lines: string[]): Entry[] {
  return lines.map((line) => {
    const [name, fence, kind, who] = line.split(" ");
    return { name, fence: fence === "-" ? undefined : Number(fence), kind, who };
  });
}

/**
 * Fences that did not grow, per name, in the order holders entered: the journal line is written
 * inside the critical section, so its order is the order of the holds, and each hold must carry
 * a higher fence than the one before.
 */
export function fencesOutOfOrder(journal: Entry[]): string[] {
  const last = new Map<string, number>();
  const out: string[] = [];
  for (const { name, fence, who } of journal) {
    if (fence === undefined) continue;
    const before = last.get(name) ?? 0;
    if (!(fence > before)) out.push(`${name}: fence ${fence} (${who}) after ${before}`);
    last.set(name, fence);
  }
  return out;
}
