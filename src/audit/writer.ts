import { type AuditEvent, encodeEvent } from "./event.ts";
import { haltPoint } from "../testing/halt.ts";
import { LoktError } from "../errors.ts";
import { lstatOrUndefined, openOrCreate } from "../nofollow.ts";
import { sameFile } from "../file_info.ts";

/** Where lock operations send their events. */
export interface AuditSink {
  append(event: AuditEvent): void;
}

/** Rotation settings. */
export interface AuditLimits {
  /** Rotate once the log would grow past this many bytes. */
  maxBytes: number;
  /** Rotated files to keep (`audit.log.1` ... oldest first); older ones are removed. */
  keep: number;
}

/** Defaults: 8 MiB per file, 4 rotated files. `LOKT_AUDIT_MAX_BYTES` / `LOKT_AUDIT_KEEP` override. */
export const DEFAULT_AUDIT_LIMITS: AuditLimits = { maxBytes: 8 * 1024 * 1024, keep: 4 };

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}

/** Audit limits from `LOKT_AUDIT_MAX_BYTES` and `LOKT_AUDIT_KEEP`, else the defaults. */
export function auditLimits(env: (name: string) => string | undefined): AuditLimits {
  return {
    maxBytes: positiveInt(env("LOKT_AUDIT_MAX_BYTES")) ?? DEFAULT_AUDIT_LIMITS.maxBytes,
    keep: positiveInt(env("LOKT_AUDIT_KEEP")) ?? DEFAULT_AUDIT_LIMITS.keep,
  };
}

const encoder = new TextEncoder();

/** The turn of an append from which it writes past the size cap (see `#appendBytes`). */
const UNCAPPED_TURN = 8;
/** The turn of an append from which it writes without checking the log's name. */
const UNCHECKED_TURN = 64;

/**
 * Lists rotated logs next to `path` as `{ n, path }`, oldest (lowest n) first. Only files count:
 * a symbolic link named like a rotated log is never read, linked over or pruned (`lokt doctor`
 * reports it).
 */
export function rotatedLogs(path: string): { n: number; path: string }[] {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash);
  const base = path.slice(slash + 1) + ".";
  const found: { n: number; path: string }[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile || !entry.name.startsWith(base)) continue;
      const n = Number(entry.name.slice(base.length));
      if (Number.isSafeInteger(n) && n > 0) found.push({ n, path: `${dir}/${entry.name}` });
    }
  } catch {
    return [];
  }
  return found.sort((a, b) => a.n - b.n);
}

/**
 * Appends events to the audit log, one `write` per line (O_APPEND keeps lines whole), and rotates
 * at a size cap. It never throws: a line that cannot be written produces one warning, and the
 * lock operation carries on.
 *
 * Race: a writer opens `audit.log`, and before it writes, another rotates that file away; the line
 * would land in the rotated file after a follower (`audit --tail`) had finished with it. So a line
 * is written under a shared kernel lock on the file, after checking under that lock that
 * `audit.log` still names the file. Once `audit.log` names another file (or none), a reader that
 * gets the exclusive lock on the old file knows that every write into it is complete and that no
 * other will come: a writer still holding it open finds the name moved and writes to the new log.
 * Writers never take that exclusive lock, so they never wait for each other.
 */
export class AuditWriter implements AuditSink {
  readonly path: string;
  readonly #limits: AuditLimits;
  readonly #warn: (message: string) => void;
  #warned = false;

  constructor(path: string, limits: AuditLimits, warn: (message: string) => void) {
    this.path = path;
    this.#limits = limits;
    this.#warn = warn;
  }

  append(event: AuditEvent): void {
    const bytes = encoder.encode(encodeEvent(event));
    try {
      this.#appendBytes(bytes);
    } catch (error) {
      if (!this.#warned) {
        this.#warned = true;
        const why = error instanceof Error ? error.message : String(error);
        const hint = error instanceof LoktError && error.hint ? ` (${error.hint})` : "";
        this.#warn(`could not write the audit log ${this.path}: ${why}${hint}`);
      }
    }
  }

  /** A symbolic link at the log's path is refused, never written through (the line is lost). */
  #open(): Deno.FsFile {
    return openOrCreate(this.path, { read: true, append: true }, 0o600);
  }

  #appendBytes(bytes: Uint8Array): void {
    // A turn that does not write found the log rotated since it was opened, or full (and rotated
    // it). Should the log fill up again that fast, the cap gives way after a few turns; the check
    // of the name only after many, so that a file system whose names and descriptors disagree
    // cannot hold a lock operation in this loop.
    for (let turn = 1;; turn++) {
      const file = this.#open();
      try {
        file.lockSync(false); // waits only while a reader makes sure a rotated file is complete
        const info = file.statSync();
        if (turn < UNCHECKED_TURN && !sameFile(lstatOrUndefined(this.path), info)) continue;
        const size = info.size;
        if (size === 0 || size + bytes.length <= this.#limits.maxBytes || turn >= UNCAPPED_TURN) {
          writeWhole(file, afterFragment(file, size, bytes));
          return;
        }
        file.unlockSync();
        this.#rotate(info);
      } finally {
        file.close(); // which releases its kernel lock
      }
    }
  }

  /**
   * Moves the full log `full` aside. Race: several writers may find it full at once. Each takes
   * an exclusive kernel lock on the log's directory (the rotation lock: appending writers do not
   * take it) and re-checks that the path still names `full`, so exactly one of them rotates it. A
   * rotated name is claimed with `link`, which fails if it exists, so no rotated file is ever
   * overwritten. A writer that opened the log before it moved may still append to it afterwards:
   * see the class comment.
   */
  #rotate(full: Deno.FileInfo): void {
    const dir = Deno.openSync(this.path.slice(0, this.path.lastIndexOf("/")) || "/", {
      read: true,
    });
    try {
      dir.lockSync(true);
      haltPoint("audit.rotate.locked", this.path);
      if (!sameFile(lstatOrUndefined(this.path), full)) return; // someone rotated it first
      // A rotation killed between its link and its unlink left this log under its rotated name
      // too; linking it again would list every line twice. Finish that rotation instead.
      const newest = rotatedLogs(this.path).at(-1);
      if (newest === undefined || !sameFile(lstatOrUndefined(newest.path), full)) {
        for (let n = (newest?.n ?? 0) + 1;; n++) {
          try {
            Deno.linkSync(this.path, `${this.path}.${n}`);
            break;
          } catch (error) {
            if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
          }
        }
      }
      haltPoint("audit.rotate.after-link", this.path);
      Deno.removeSync(this.path);
      haltPoint("audit.rotate.after-remove", this.path);
      this.#prune();
    } finally {
      dir.close(); // which releases the rotation lock
    }
  }

  #prune(): void {
    const rotated = rotatedLogs(this.path);
    for (const old of rotated.slice(0, Math.max(0, rotated.length - this.#limits.keep))) {
      try {
        Deno.removeSync(old.path);
      } catch {
        // already pruned by another writer
      }
    }
  }
}

/**
 * `line`, preceded by a newline when the log ends mid-line: a writer cut short by a full disk
 * could not end its fragment, and the next line must not be glued onto it. Race: two writers may
 * both see the fragment and both add a newline; the blank line that makes is skipped by readers.
 */
function afterFragment(file: Deno.FsFile, size: number, line: Uint8Array): Uint8Array {
  if (size === 0) return line;
  const last = new Uint8Array(1);
  file.seekSync(size - 1, Deno.SeekMode.Start); // appends go to the end wherever this points
  if (file.readSync(last) !== 1 || last[0] === 0x0a) return line;
  const out = new Uint8Array(line.length + 1);
  out[0] = 0x0a;
  out.set(line, 1);
  return out;
}

function writeWhole(file: Deno.FsFile, bytes: Uint8Array): void {
  haltPoint("audit.append.before-write");
  let written = file.writeSync(bytes);
  haltPoint("audit.append.after-write");
  if (written === bytes.length) return;
  // A short write (disk full) must not glue the next line onto this fragment.
  try {
    file.writeSync(encoder.encode("\n"));
  } catch {
    // nothing more can be done
  }
  written = Math.max(written, 0);
  throw new Error(`short write: ${written} of ${bytes.length} bytes`);
}

/** An audit sink that drops everything (read-only commands, tests). */
export const NO_AUDIT: AuditSink = { append() {} };
