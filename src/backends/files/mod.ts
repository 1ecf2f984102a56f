/**
 * The file backend: locks in a directory of the machine's own disk (the lock root), kept by the
 * file engine of `src/locks/` behind the {@link Backend} interface.
 *
 * @module
 */

import type { Backend } from "../backend.ts";
import type { Actor } from "../../audit/event.ts";
import { type AuditLimits, AuditWriter, DEFAULT_AUDIT_LIMITS } from "../../audit/writer.ts";
import type { ProcessProbe } from "../../identity/process.ts";
import { layoutOf } from "../../locks/layout.ts";
import { FilesBackend } from "./engine.ts";

export { FilesBackend };

/** How to open the file backend. */
export interface OpenFilesOptions {
  /** The lock root (an absolute path); created on first use. */
  root: string;
  probe: ProcessProbe;
  /** Who acts, as written to the audit log. */
  actor: Actor;
  /** Wall clock, epoch milliseconds (default `Date.now`). */
  now?: () => number;
  /** The audit log's size limits (default {@link DEFAULT_AUDIT_LIMITS}). */
  auditLimits?: AuditLimits;
  /** Where a failure to write the audit log is reported, once (default: nowhere). */
  warn?: (message: string) => void;
  /** Where the choice of this backend came from, for people. */
  source?: string;
}

/** The file backend at `options.root`. Nothing is created until a lock operation needs it. */
export function openFiles(options: OpenFilesOptions): Backend {
  const layout = layoutOf(options.root);
  const ctx = {
    layout,
    now: options.now ?? (() => Date.now()),
    probe: options.probe,
    audit: new AuditWriter(
      layout.audit,
      options.auditLimits ?? DEFAULT_AUDIT_LIMITS,
      options.warn ?? (() => {}),
    ),
    actor: options.actor,
  };
  return new FilesBackend(ctx, { source: options.source });
}
