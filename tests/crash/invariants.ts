/**
 * The crash suite's checker. It reads a lock root's files directly and shares no code with
 * `src/`: a bug in lokt's own reader cannot hide a bad file from it. Every function returns the
 * problems it found as sentences (an empty list means the state is one the protocol allows).
 */

/** A v1 lock or freeze record, as the file says it (only the fields the checks use). */
export interface FileRecord {
  name: string;
  lock_id: string;
  kind: "lock" | "guard" | "freeze";
  owner: string;
  agent_id: string;
  pid: number;
  pid_start: string | null;
  child_pid: number | null;
  child_start: string | null;
  fence: number;
  expires_at: string | null;
  /** The file's exact text, to tell an unchanged record from a rewritten one. */
  text: string;
}

/** One audit file, as a reader sees it by name. */
export interface AuditFile {
  name: string;
  ino: number | null;
  lines: string[];
}

/** What a root holds for the checks. */
export interface RootState {
  /** `locks/<name>.json` by name. */
  locks: Map<string, FileRecord>;
  /** `freezes/<name>.json` by name. */
  freezes: Map<string, FileRecord>;
  /** `fences/<name>` counters by name (0 for a counter file not written yet). */
  fences: Map<string, number>;
  /** `fences/.floor`: the fence floor of reclaimed names (0 when not written yet). */
  floor: number;
  /** `queue/<name>/` ticket files by name, each with the pid it names (0 if unreadable). */
  tickets: Map<string, { file: string; pid: number }[]>;
  /** Entries of `tmp/`. */
  tmp: string[];
  /** `audit.log` and its rotated files, oldest first. */
  audit: AuditFile[];
  /** Files that are not what the protocol allows: half-written records, broken audit lines. */
  problems: string[];
}

const LOCK_ID = /^[0-9a-f]{32}$/;
const decoder = new TextDecoder();

function readDir(path: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(path)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

function isInt(value: unknown, min = 0): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min;
}

function optionalString(value: unknown): value is string | null | undefined {
  return value === undefined || value === null || typeof value === "string";
}

/**
 * Parses a lock or freeze file as a complete v1 record, or says why it is not one. `dir` is
 * `"locks"` or `"freezes"`, `stem` the file name without `.json`.
 */
export function parseRecordFile(
  text: string,
  dir: "locks" | "freezes",
  stem: string,
): FileRecord | string {
  if (text === "") return "the file is empty (half-written)";
  if (!text.endsWith("}\n")) return "the file does not end with a complete JSON object";
  let body: Record<string, unknown>;
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return "not a JSON object";
    }
    body = parsed;
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  const kinds = dir === "locks" ? ["lock", "guard"] : ["freeze"];
  const fail = (field: string) => `field ${field} is missing or wrong: ${JSON.stringify(body)}`;
  if (body.version !== 1) return fail("version");
  if (body.name !== stem) return fail("name");
  if (typeof body.lock_id !== "string" || !LOCK_ID.test(body.lock_id)) return fail("lock_id");
  if (typeof body.kind !== "string" || !kinds.includes(body.kind)) return fail("kind");
  if (typeof body.owner !== "string" || body.owner === "") return fail("owner");
  if (typeof body.host !== "string" || body.host === "") return fail("host");
  if (typeof body.agent_id !== "string") return fail("agent_id");
  if (!isInt(body.pid)) return fail("pid");
  if (!isInt(body.fence, dir === "locks" ? 1 : 0)) return fail("fence");
  if (typeof body.acquired_ts !== "string" || Number.isNaN(Date.parse(body.acquired_ts))) {
    return fail("acquired_ts");
  }
  if (!optionalString(body.expires_at)) return fail("expires_at");
  if (typeof body.expires_at === "string" && Number.isNaN(Date.parse(body.expires_at))) {
    return fail("expires_at");
  }
  if (!optionalString(body.pid_start) || !optionalString(body.child_start)) return fail("start");
  if (!(body.child_pid === undefined || body.child_pid === null || isInt(body.child_pid))) {
    return fail("child_pid");
  }
  return {
    name: stem,
    lock_id: body.lock_id,
    kind: body.kind as FileRecord["kind"],
    owner: body.owner,
    agent_id: body.agent_id,
    pid: body.pid,
    pid_start: (body.pid_start as string | null | undefined) ?? null,
    child_pid: (body.child_pid as number | null | undefined) ?? null,
    child_start: (body.child_start as string | null | undefined) ?? null,
    fence: body.fence,
    expires_at: (body.expires_at as string | null | undefined) ?? null,
    text,
  };
}

/** Checks one audit line: a JSON object with the fields every event carries. */
export function auditLineProblem(line: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    return "not JSON";
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "not an object";
  const event = body as Record<string, unknown>;
  if (typeof event.ts !== "string" || Number.isNaN(Date.parse(event.ts))) return "bad ts";
  if (typeof event.event !== "string" || !/^[a-z-]+$/.test(event.event)) return "bad event";
  if (typeof event.name !== "string" || event.name === "") return "bad name";
  if (typeof event.lock_id !== "string") return "bad lock_id";
  if (!isInt(event.pid) || !isInt(event.fence)) return "bad pid or fence";
  return undefined;
}

function readRecords(root: string, dir: "locks" | "freezes", problems: string[]) {
  const records = new Map<string, FileRecord>();
  for (const entry of readDir(`${root}/${dir}`)) {
    if (!entry.name.endsWith(".json")) continue;
    const stem = entry.name.slice(0, -".json".length);
    let text: string;
    try {
      text = decoder.decode(Deno.readFileSync(`${root}/${dir}/${entry.name}`));
    } catch (error) {
      problems.push(`${dir}/${entry.name} cannot be read: ${(error as Error).message}`);
      continue;
    }
    const parsed = parseRecordFile(text, dir, stem);
    if (typeof parsed === "string") problems.push(`${dir}/${entry.name}: ${parsed}`);
    else records.set(stem, parsed);
  }
  return records;
}

function readAudit(root: string, problems: string[]): AuditFile[] {
  const files: { name: string; order: number }[] = [];
  for (const entry of readDir(root)) {
    const m = entry.name.match(/^audit\.log(?:\.(\d+))?$/);
    if (m) files.push({ name: entry.name, order: m[1] === undefined ? Infinity : Number(m[1]) });
  }
  files.sort((a, b) => a.order - b.order);
  const audit: AuditFile[] = [];
  for (const { name } of files) {
    let text: string;
    let ino: number | null;
    try {
      text = decoder.decode(Deno.readFileSync(`${root}/${name}`));
      ino = Deno.statSync(`${root}/${name}`).ino;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // rotated away while we looked
      throw error;
    }
    if (text !== "" && !text.endsWith("\n")) problems.push(`${name} ends with a partial line`);
    const lines = text.split("\n").filter((line) => line !== "");
    lines.forEach((line, i) => {
      const problem = auditLineProblem(line);
      if (problem) problems.push(`${name} line ${i + 1}: ${problem}: ${line.slice(0, 120)}`);
    });
    audit.push({ name, ino, lines });
  }
  return audit;
}

/** `fences/` by file name: `.floor` and the names' counters. */
function readFences(root: string, problems: string[]): Map<string, number> {
  const fences = new Map<string, number>();
  for (const entry of readDir(`${root}/fences`)) {
    let text: string;
    try {
      text = decoder.decode(Deno.readFileSync(`${root}/fences/${entry.name}`));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // reclaimed while we looked
      throw error;
    }
    if (text === "") {
      fences.set(entry.name, 0);
    } else if (/^\d{20}\n$/.test(text)) {
      fences.set(entry.name, Number(text));
    } else {
      problems.push(`fences/${entry.name} is not a whole counter: ${JSON.stringify(text)}`);
    }
  }
  return fences;
}

/**
 * The fence bound of `name`: at least every fence it was handed. Its counter, or, while it has
 * none (never written, or the name was reclaimed), the root's floor.
 */
export function fenceBound(state: RootState, name: string): number {
  const counter = state.fences.get(name) ?? 0;
  return counter > 0 ? counter : state.floor;
}

function readTickets(root: string): Map<string, { file: string; pid: number }[]> {
  const tickets = new Map<string, { file: string; pid: number }[]>();
  for (const dir of readDir(`${root}/queue`)) {
    const list: { file: string; pid: number }[] = [];
    for (const entry of readDir(`${root}/queue/${dir.name}`)) {
      let pid = 0;
      try {
        pid = Number(
          JSON.parse(Deno.readTextFileSync(`${root}/queue/${dir.name}/${entry.name}`)).pid,
        );
      } catch {
        pid = 0; // unreadable, or removed while we looked
      }
      list.push({ file: entry.name, pid });
    }
    if (list.length > 0) tickets.set(dir.name, list);
  }
  return tickets;
}

function splitFloor(files: Map<string, number>): { fences: Map<string, number>; floor: number } {
  const floor = files.get(".floor") ?? 0;
  files.delete(".floor");
  return { fences: files, floor };
}

/** Reads everything the checks look at under `root`. */
export function readRoot(root: string): RootState {
  const problems: string[] = [];
  return {
    locks: readRecords(root, "locks", problems),
    freezes: readRecords(root, "freezes", problems),
    ...splitFloor(readFences(root, problems)),
    tickets: readTickets(root),
    tmp: readDir(`${root}/tmp`).map((e) => e.name),
    audit: readAudit(root, problems),
    problems,
  };
}

/** Is `pid` a running process (not a zombie) with start token `start`, by `/proc`? */
export function isAlive(pid: number, start?: string | null): boolean {
  if (pid <= 0) return false;
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return false;
  }
  // Fields after the parenthesised command name: state is the 3rd field, start time the 22nd.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return false;
  return start === undefined || start === null || fields[19] === start;
}

/**
 * Must `unlock --break-stale` remove this record at `nowMs`? True when its TTL ran out (for a
 * guard: only once its processes are gone too) or every process it names is gone; false when it
 * has no expiry and names no process that could die.
 * Undefined when a process it names is still running (it may die at any moment).
 */
export function mustBeStale(record: FileRecord, nowMs: number): boolean | undefined {
  // A guard's TTL does not end it while the guard or its command runs (a SIGKILLed guard's
  // command keeps the lock, as flock's children do); other records end at their TTL.
  const expired = record.expires_at !== null && Date.parse(record.expires_at) <= nowMs;
  if (expired && record.kind !== "guard") return true;
  const processes: [number, string | null][] = [];
  if (record.pid > 0) processes.push([record.pid, record.pid_start]);
  if (record.kind === "guard" && record.child_pid) {
    processes.push([record.child_pid, record.child_start]);
  }
  if (processes.length === 0) return expired;
  if (processes.some(([pid, start]) => isAlive(pid, start))) return undefined;
  // A guard killed before it recorded its command: the command carries the lock id.
  return record.kind === "guard" && carrierExists(record.lock_id) ? undefined : true;
}

/** Is there a process whose environment holds `LOKT_LOCK_ID=<lockId>`? */
function carrierExists(lockId: string): boolean {
  const needle = `\0LOKT_LOCK_ID=${lockId}\0`;
  for (const entry of readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = decoder.decode(Deno.readFileSync(`/proc/${entry.name}/environ`));
      if (`\0${environ}`.includes(needle)) return true;
    } catch {
      // gone, or not ours to read
    }
  }
  return false;
}

/** What the killed command may have done to one record file. */
export interface RecordChanges {
  /** Remove the record that was there. */
  remove?: boolean;
  /** Rewrite the record that was there, keeping its lock id and fence. */
  rewrite?: boolean;
  /** Create a new record of the victim (replacing the one there, if any). */
  create?: boolean;
  /** Remove the record it created (a guard releasing when its command ends). */
  removeOwn?: boolean;
}

/** What a case allows the killed command to have done. */
export interface Allowed {
  name: string;
  /** The victim's agent id: new records must carry it. */
  agent: string;
  lock: RecordChanges;
  freeze: RecordChanges;
}

function checkRecord(
  what: string,
  before: FileRecord | undefined,
  after: FileRecord | undefined,
  changes: RecordChanges,
  agent: string,
  minFence: number,
): string[] {
  if (after === undefined) {
    return before === undefined || changes.remove ? [] : [`${what} was removed`];
  }
  if (before !== undefined && after.lock_id === before.lock_id) {
    if (after.text === before.text) return [];
    if (!changes.rewrite) return [`${what} was rewritten`];
    return after.fence === before.fence ? [] : [`${what} was rewritten with another fence`];
  }
  if (!changes.create) return [`${what} holds a record nobody should have written`];
  const problems: string[] = [];
  if (after.agent_id !== agent) problems.push(`${what} names agent ${after.agent_id}`);
  if (after.kind !== "freeze" && after.fence <= minFence) {
    problems.push(`${what} reuses fence ${after.fence} (highest before: ${minFence})`);
  }
  return problems;
}

/**
 * Compares the state after the kill with the state before it: each record is unchanged or
 * changed as `allowed` says, fences only grow and are on disk before a record carries them, no
 * audit line was lost or doubled, every new line comes from one of `writers` (the victim, and
 * the test itself when it acts during the run), and what they logged is true of the files.
 */
export function checkAfterKill(
  before: RootState,
  after: RootState,
  allowed: Allowed,
  writers: number[],
): string[] {
  const { name } = allowed;
  const problems = [...after.problems];
  const fenceBefore = Math.max(fenceBound(before, name), before.locks.get(name)?.fence ?? 0);
  const lock = after.locks.get(name);
  const freeze = after.freezes.get(name);
  problems.push(
    ...checkRecord(
      "the lock",
      before.locks.get(name),
      lock,
      allowed.lock,
      allowed.agent,
      fenceBefore,
    ),
    ...checkRecord(
      "the freeze",
      before.freezes.get(name),
      freeze,
      allowed.freeze,
      allowed.agent,
      0,
    ),
  );
  for (const other of after.locks.keys()) {
    if (other !== name && before.locks.get(other)?.text !== after.locks.get(other)?.text) {
      problems.push(`the lock of another name, ${other}, changed`);
    }
  }
  const fence = fenceBound(after, name);
  if (lock !== undefined && fence < lock.fence) {
    problems.push(`the fence counter (${fence}) is below the lock's fence (${lock.fence})`);
  }
  if (fence < fenceBound(before, name)) problems.push("the fence counter went down");
  if (after.floor < before.floor) problems.push("the fence floor went down");

  // Audit: count lines per file inode, since a rotation killed between link and unlink leaves
  // one file under two names for a moment.
  const seen = new Set<number | null>();
  const lines = new Map<string, number>();
  for (const file of after.audit) {
    if (file.ino !== null && seen.has(file.ino)) continue;
    seen.add(file.ino);
    for (const line of file.lines) lines.set(line, (lines.get(line) ?? 0) + 1);
  }
  for (const line of before.audit.flatMap((f) => f.lines)) {
    const n = lines.get(line) ?? 0;
    if (n === 0) problems.push(`an audit line was lost: ${line.slice(0, 120)}`);
    if (n > 1) problems.push(`an audit line appears ${n} times: ${line.slice(0, 120)}`);
    lines.set(line, 0);
  }
  // The victim's own account, in order: the last event about each lock id must be true.
  const last = new Map<string, Record<string, unknown>>();
  for (const [line, n] of lines) {
    if (n === 0) continue;
    const event = JSON.parse(line) as Record<string, unknown>;
    if (!writers.includes(event.pid as number)) {
      problems.push(`an audit line from another process: ${line}`);
    }
    if (n > 1) problems.push(`a new audit line appears ${n} times: ${line}`);
    last.set(`${event.lock_id}|${CLAIMS_FREEZE.has(String(event.event))}`, event);
  }
  for (const event of last.values()) {
    problems.push(...auditClaimProblems(event, lock, freeze, allowed.lock.removeOwn === true));
  }
  return problems;
}

const CLAIMS_FREEZE = new Set(["freeze", "unfreeze", "force-unfreeze", "freeze-expire"]);

/** What the victim wrote to the audit log must be true of the files it left. */
function auditClaimProblems(
  event: Record<string, unknown>,
  lock: FileRecord | undefined,
  freeze: FileRecord | undefined,
  removesOwn: boolean,
): string[] {
  const id = event.lock_id;
  const says = `the audit log says ${event.event} ${id}`;
  switch (event.event) {
    case "acquire":
    case "renew":
      // A command that removes its own lock may have been killed after removing it and before
      // logging the release; the log is written after each change, never before.
      if (removesOwn && lock === undefined) return [];
      return lock?.lock_id === id ? [] : [`${says}, but the lock file does not hold it`];
    case "release":
    case "stale-break":
    case "force-break":
    case "auto-prune":
      return id !== "" && lock?.lock_id === id ? [`${says}, but the lock file still holds it`] : [];
    case "freeze":
      return freeze?.lock_id === id ? [] : [`${says}, but the freeze file does not hold it`];
    case "unfreeze":
    case "force-unfreeze":
    case "freeze-expire":
      return id !== "" && freeze?.lock_id === id ? [`${says}, but the freeze is still there`] : [];
    default:
      return [];
  }
}

/**
 * The state a reader sees after recovery, compared with the state before the kill: the name is
 * free, no dead waiter is queued, the name is reclaimed unless a ticket remains, its fence bound
 * did not go down, every audit line parses, no audit file is listed under two names, and every
 * line written before the kill appears exactly once.
 */
export function checkAfterRecovery(before: RootState, after: RootState, name: string): string[] {
  const problems = [...after.problems];
  if (after.locks.has(name)) problems.push("the lock is still there after recovery");
  if (after.freezes.has(name)) problems.push("the freeze is still there after recovery");
  const tickets = after.tickets.get(name) ?? [];
  for (const ticket of tickets) {
    // A ticket left unwritten (killed between creating and writing it) names no pid: it holds
    // no turn, and waiters clear it once it is older than the stall time (tests/locks/queue_test.ts).
    if (ticket.pid === 0) continue;
    if (!isAlive(ticket.pid)) problems.push(`a dead waiter's ticket is left: ${ticket.file}`);
  }
  if (tickets.length === 0 && after.fences.has(name)) {
    problems.push("the released name was not reclaimed: its fence file is left");
  }
  const fenceBefore = Math.max(fenceBound(before, name), before.locks.get(name)?.fence ?? 0);
  if (fenceBound(after, name) <= fenceBefore) {
    problems.push(`the fence bound (${fenceBound(after, name)}) did not grow past ${fenceBefore}`);
  }
  const inodes = new Map<number, string>();
  for (const file of after.audit) {
    if (file.ino === null) continue;
    const other = inodes.get(file.ino);
    if (other !== undefined) problems.push(`${file.name} and ${other} are the same file`);
    inodes.set(file.ino, file.name);
  }
  const counts = new Map<string, number>();
  for (const line of after.audit.flatMap((f) => f.lines)) {
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  for (const line of before.audit.flatMap((f) => f.lines)) {
    const n = counts.get(line) ?? 0;
    if (n !== 1) problems.push(`an audit line from before the kill appears ${n} times`);
  }
  return problems;
}
