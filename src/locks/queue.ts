/**
 * The waiting queue: first come, first served. A waiter takes a numbered ticket under the name's
 * kernel lock; a free lock goes to the lowest live ticket. A ticket whose process died is
 * removed by whoever finds it; one whose heartbeat stopped (the waiter is suspended or hung)
 * is passed over until it beats again.
 */

import { processState } from "../identity/process.ts";
import type { LockContext } from "./context.ts";
import type { Claim } from "./holder.ts";
import { queueDir } from "./layout.ts";
import { SymlinkError } from "../errors.ts";
import { lstatOrUndefined, readNoFollow, refuseLinkedDirs } from "../nofollow.ts";
import { scopeOf } from "./stale.ts";
import { formatIso } from "../time.ts";
import { haltPoint } from "../testing/halt.ts";

/** A waiter's heartbeat refreshes its ticket this often. */
export const TICKET_HEARTBEAT_MS = 1_000;
/** A ticket whose heartbeat is older than this loses its turn until it beats again. */
export const TICKET_STALL_MS = 5_000;

/** One waiter in the queue. */
export interface Ticket {
  /** Position: lower is earlier. */
  seq: number;
  /** The ticket file. */
  path: string;
  /** The waiting process. */
  pid: number;
  /** Start-time token of {@link Ticket.pid}, when known. */
  start?: string;
  /** Host the waiter runs on. */
  host: string;
  /** Boot id of the waiter's machine, when known. */
  bootId?: string;
  /** Pid namespace of the waiter, when known. */
  pidNs?: string;
  /** The waiter's owner name. */
  owner: string;
  /** The waiter's agent id, `""` when none. */
  agentId: string;
  /** When it joined the queue, epoch milliseconds. */
  sinceMs: number;
  /** Time of the last heartbeat (the file's mtime). */
  beatMs: number;
  /** Set once this process has removed its own ticket: leaving again is a no-op. */
  left?: boolean;
}

/** The file name of ticket number `seq` in a queue directory. Pure. */
export function ticketName(seq: number): string {
  return `${String(seq).padStart(12, "0")}.json`;
}

/** The ticket number a file name stands for, or undefined when it names no ticket. */
function seqOf(fileName: string): number | undefined {
  const seq = Number(fileName.replace(/\.json$/, ""));
  return fileName.endsWith(".json") && Number.isSafeInteger(seq) ? seq : undefined;
}

const decoder = new TextDecoder();

/**
 * Reads one ticket; undefined when it is gone, unreadable (half-written by a crash) or a
 * symbolic link (never followed).
 */
function readTicket(path: string, seq: number): Ticket | undefined {
  try {
    const read = readNoFollow(path);
    if (read.kind !== "file") return undefined;
    const body = JSON.parse(decoder.decode(read.bytes));
    const beatMs = read.info.mtime?.getTime() ?? 0;
    return {
      seq,
      path,
      pid: Number(body.pid) || 0,
      start: typeof body.pid_start === "string" ? body.pid_start : undefined,
      host: String(body.host ?? ""),
      bootId: typeof body.boot_id === "string" ? body.boot_id : undefined,
      pidNs: typeof body.pid_ns === "string" ? body.pid_ns : undefined,
      owner: String(body.owner ?? ""),
      agentId: String(body.agent_id ?? ""),
      sinceMs: Date.parse(String(body.since)) || beatMs,
      beatMs,
    };
  } catch {
    return undefined;
  }
}

/**
 * The queue directory of `name`, or undefined when there is none yet. `queue/` and
 * `queue/<name>` must be directories of the root: a symbolic link is refused (`SymlinkError`),
 * since a waiter removes the tickets of dead waiters it finds there. Race: the directory could be
 * swapped for a link after this look; only something outside lokt's protocol does that.
 */
export function queueDirOf(ctx: LockContext, name: string): string | undefined {
  refuseLinkedDirs([ctx.layout.queue]);
  const dir = queueDir(ctx.layout, name);
  const info = lstatOrUndefined(dir);
  if (info?.isSymlink) throw new SymlinkError(dir, "directory");
  return info === undefined ? undefined : dir;
}

/**
 * Reads the tickets in `dir` numbered below `below` (all of them by default), earliest first.
 * Symbolic links are skipped: they hold no turn and are never read or removed.
 */
function readTickets(dir: string | undefined, unreadable?: string[], below = Infinity): Ticket[] {
  const tickets: Ticket[] = [];
  if (dir === undefined) return tickets;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  for (const entry of entries) {
    if (entry.isSymlink) continue;
    const seq = seqOf(entry.name);
    if (seq === undefined || seq >= below) continue;
    const path = `${dir}/${entry.name}`;
    const ticket = readTicket(path, seq);
    // removed while we looked, or half-written by a crash: an unreadable ticket holds no turn
    if (ticket === undefined) unreadable?.push(path);
    else tickets.push(ticket);
  }
  return tickets.sort((a, b) => a.seq - b.seq);
}

/** The waiters of `name`, earliest first (read-only; `why` and `status` use it). */
export function listQueue(ctx: LockContext, name: string): Ticket[] {
  return readTickets(queueDirOf(ctx, name));
}

function ticketIsDead(ctx: LockContext, ticket: Ticket): boolean {
  const scope = scopeOf(ticket, ctx.probe.machine());
  if (scope === "rebooted") return true;
  if (scope === "remote") return false;
  return processState(ctx.probe, ticket.pid, ticket.start) === "dead";
}

/**
 * The live, non-stalled tickets ahead of `seq` (all of them when `seq` is undefined). Tickets of
 * dead waiters are removed on the way. Call with the name's kernel lock held.
 */
export function waitersAhead(ctx: LockContext, name: string, seq?: number): Ticket[] {
  const now = ctx.now();
  const ahead: Ticket[] = [];
  const unreadable: string[] = [];
  const tickets = readTickets(queueDirOf(ctx, name), unreadable, seq);
  // A waiter killed between creating its ticket and writing it leaves an empty file: nobody's
  // turn, but it would make every later waiter look behind someone. Cleared once old.
  for (const path of unreadable) {
    try {
      if (now - (Deno.lstatSync(path).mtime?.getTime() ?? now) > TICKET_STALL_MS) {
        Deno.removeSync(path);
      }
    } catch {
      // gone already
    }
  }
  for (const ticket of tickets) {
    if (ticketIsDead(ctx, ticket)) {
      try {
        Deno.removeSync(ticket.path);
        haltPoint("queue.pruned-dead", ticket.path);
      } catch {
        // its owner removed it first
      }
      continue;
    }
    if (now - ticket.beatMs > TICKET_STALL_MS) continue;
    ahead.push(ticket);
  }
  return ahead;
}

/**
 * The path of the ticket just ahead of `seq` in the queue directory `dir` (the highest number
 * below it), or undefined when none is: a cheap look at names only, without the lock. It may
 * name a dead, stalled or unwritten ticket; see {@link ticketHoldsTurn}.
 */
export function ticketAhead(dir: string, seq: number): string | undefined {
  let best = -1;
  let path: string | undefined;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isSymlink) continue; // holds no turn; never watched or read
      const n = seqOf(entry.name);
      if (n === undefined || n >= seq || n <= best) continue;
      best = n;
      path = `${dir}/${entry.name}`;
    }
  } catch {
    return undefined;
  }
  return path;
}

/**
 * True when the ticket at `path` still holds its turn: readable, its waiter alive, its heartbeat
 * recent. Read-only, without the lock: a waiter behind a ticket that holds its turn has nothing
 * to do; behind one that does not, a full attempt clears it (dead, unwritten) or passes it over
 * (stalled).
 */
export function ticketHoldsTurn(ctx: LockContext, path: string): boolean {
  const seq = seqOf(path.slice(path.lastIndexOf("/") + 1));
  const ticket = seq === undefined ? undefined : readTicket(path, seq);
  if (ticket === undefined || ctx.now() - ticket.beatMs > TICKET_STALL_MS) return false;
  return !ticketIsDead(ctx, ticket);
}

/** What a new ticket records about its waiter. */
export interface TicketHolder {
  pid: number;
  start?: string;
  owner: string;
  agentId: string;
}

/** The ticket holder for a waiter making `claim`. */
export function waiterOf(ctx: LockContext, claim: Claim): TicketHolder {
  return {
    pid: claim.pid,
    start: ctx.probe.info(claim.pid)?.start,
    owner: claim.owner,
    agentId: claim.agentId,
  };
}

/**
 * Creates the queue directory of `name` if it is missing, and returns it. A symbolic link in its
 * place is refused: `mkdir` accepts a link to a directory as the directory itself.
 */
function ensureQueueDir(ctx: LockContext, name: string): string {
  const dir = queueDirOf(ctx, name);
  if (dir !== undefined) return dir;
  const made = queueDir(ctx.layout, name);
  Deno.mkdirSync(made, { recursive: true, mode: 0o700 });
  return queueDirOf(ctx, name) ?? made;
}

/** Takes the next ticket for `name`. Call with the name's kernel lock held. */
export function joinQueue(ctx: LockContext, name: string, holder: TicketHolder): Ticket {
  const dir = ensureQueueDir(ctx, name);
  const last = readTickets(dir).at(-1)?.seq ?? 0;
  const machine = ctx.probe.machine();
  const now = ctx.now();
  for (let seq = last + 1;; seq++) {
    const path = `${dir}/${ticketName(seq)}`;
    const body = {
      pid: holder.pid,
      pid_start: holder.start ?? null,
      host: machine.host,
      boot_id: machine.bootId ?? null,
      pid_ns: machine.pidNs ?? null,
      owner: holder.owner,
      agent_id: holder.agentId,
      since: formatIso(now),
    };
    try {
      // createNew: an unreadable leftover with this number must not be reused.
      Deno.writeTextFileSync(path, JSON.stringify(body) + "\n", { createNew: true, mode: 0o600 });
      haltPoint("queue.join.written", path);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    return {
      seq,
      path,
      pid: holder.pid,
      start: holder.start,
      host: machine.host,
      bootId: machine.bootId,
      pidNs: machine.pidNs,
      owner: holder.owner,
      agentId: holder.agentId,
      sinceMs: now,
      beatMs: now,
    };
  }
}

/** Removes a ticket (its waiter acquired, gave up or was interrupted). */
export function leaveQueue(ticket: Ticket): void {
  if (ticket.left) return;
  ticket.left = true;
  try {
    Deno.removeSync(ticket.path);
    haltPoint("queue.left", ticket.path);
  } catch {
    // already removed
  }
}

/**
 * Refreshes a ticket's heartbeat; false if the ticket is gone, or is no longer a file (`utime`
 * would follow a link).
 */
export function beat(ticket: Ticket, nowMs: number): boolean {
  try {
    if (!Deno.lstatSync(ticket.path).isFile) return false;
    const at = new Date(nowMs);
    Deno.utimeSync(ticket.path, at, at);
    return true;
  } catch {
    return false;
  }
}
