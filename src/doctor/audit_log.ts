/** The audit log's size, rotation and health: does its recent part parse? */

import { decodeEventLine } from "../audit/event.ts";
import { completeLines, readFrom } from "../audit/reader.ts";
import { rotatedLogs } from "../audit/writer.ts";
import { openExisting } from "../nofollow.ts";
import { type Check, check } from "./check.ts";

/** How much of the end of the live log is checked line by line. */
export const AUDIT_SCAN_BYTES = 64 * 1024;

/** What was measured. */
export interface AuditFacts {
  exists: boolean;
  sizeBytes: number;
  rotated: number;
  rotatedBytes: number;
  scannedBytes: number;
  scannedLines: number;
  unparsable: number;
}

/** Counts lines in `bytes` (the tail of a log) that do not decode. The first line may be cut. */
export function scanTail(bytes: Uint8Array, cutAtStart: boolean): { lines: number; bad: number } {
  let { lines } = completeLines(bytes);
  if (cutAtStart) lines = lines.slice(1);
  let bad = 0;
  let count = 0;
  for (const line of lines) {
    if (line.trim() === "") continue;
    count++;
    if (decodeEventLine(line) === undefined) bad++;
  }
  return { lines: count, bad };
}

/** Measures the log at `path`; throws when it exists but cannot be read. */
export function measureAudit(path: string): AuditFacts {
  let rotatedBytes = 0;
  const rotated = rotatedLogs(path);
  for (const r of rotated) {
    try {
      rotatedBytes += Deno.lstatSync(r.path).size;
    } catch {
      // pruned meanwhile
    }
  }
  // A link is refused (SymlinkError), never read: the layout check reports it too.
  const file = openExisting(path, { read: true });
  if (file === undefined) {
    return {
      exists: false,
      sizeBytes: 0,
      rotated: rotated.length,
      rotatedBytes,
      scannedBytes: 0,
      scannedLines: 0,
      unparsable: 0,
    };
  }
  try {
    const size = file.statSync().size;
    const from = Math.max(0, size - AUDIT_SCAN_BYTES);
    const bytes = readFrom(file, from);
    const { lines, bad } = scanTail(bytes, from > 0);
    return {
      exists: true,
      sizeBytes: size,
      rotated: rotated.length,
      rotatedBytes,
      scannedBytes: bytes.length,
      scannedLines: lines,
      unparsable: bad,
    };
  } finally {
    file.close();
  }
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Judges the measurements against the rotation cap. Pure. */
export function judgeAudit(facts: AuditFacts, maxBytes: number, path: string): Check {
  const details = {
    path,
    exists: facts.exists,
    size_bytes: facts.sizeBytes,
    max_bytes: maxBytes,
    rotated_files: facts.rotated,
    rotated_bytes: facts.rotatedBytes,
    scanned_bytes: facts.scannedBytes,
    scanned_lines: facts.scannedLines,
    unparsable_lines: facts.unparsable,
  };
  if (!facts.exists) {
    return check(
      "audit_log",
      "ok",
      `no audit log yet${facts.rotated > 0 ? ` (${facts.rotated} rotated file(s))` : ""}`,
      { details },
    );
  }
  const summary = `${size(facts.sizeBytes)}, ${facts.rotated} rotated file(s) ` +
    `(${size(facts.rotatedBytes)})`;
  if (facts.unparsable > 0) {
    return check(
      "audit_log",
      "warn",
      `${summary}; ${facts.unparsable} of the last ${facts.scannedLines} line(s) do not parse ` +
        "(a full disk, or something else writing to the log)",
      { hint: "`lokt audit` skips them; check free disk space", details },
    );
  }
  if (facts.sizeBytes > 2 * maxBytes) {
    return check(
      "audit_log",
      "warn",
      `${summary}; larger than twice the cap of ${size(maxBytes)}`,
      {
        hint: "rotation is not happening: check that the root is writable (lokt doctor), or " +
          "move the log aside",
        details,
      },
    );
  }
  return check("audit_log", "ok", `${summary}; the last ${facts.scannedLines} line(s) parse`, {
    details,
  });
}
