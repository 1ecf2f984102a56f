/**
 * The audit writer's append: whole lines, also after a writer that was cut short mid-line, and never
 * into a file rotated away after the writer opened it.
 */

import { type AuditEvent, decodeEventLine, encodeEvent } from "../../src/audit/event.ts";
import { AuditWriter, DEFAULT_AUDIT_LIMITS } from "../../src/audit/writer.ts";
import { assertEquals } from "../helpers/assert.ts";
import { tempDir, until } from "../helpers/cli.ts";

const APPENDER = decodeURIComponent(new URL("./appender.ts", import.meta.url).pathname);

const EVENT: AuditEvent = {
  ts: Date.UTC(2026, 4, 1, 12, 0, 0),
  event: "release",
  name: "build",
  actor: { owner: "ana", host: "box", pid: 42, agentId: "a1" },
};

function writer(path: string, warnings: string[]): AuditWriter {
  return new AuditWriter(path, DEFAULT_AUDIT_LIMITS, (m) => warnings.push(m));
}

Deno.test("a line appended after a fragment left by a cut-short writer starts on its own line", () => {
  using dir = tempDir();
  const path = `${dir.path}/audit.log`;
  const whole = encodeEvent({ ...EVENT, event: "acquire" });
  const fragment = encodeEvent({ ...EVENT, event: "deny" }).slice(0, 40); // the disk filled up
  Deno.writeTextFileSync(path, whole + fragment);
  const warnings: string[] = [];
  writer(path, warnings).append(EVENT);

  const lines = Deno.readTextFileSync(path).split("\n");
  assertEquals(lines, [whole.trimEnd(), fragment, encodeEvent(EVENT).trimEnd(), ""]);
  assertEquals(decodeEventLine(lines[2])?.event, "release");
  assertEquals(warnings, []);
});

Deno.test("a log that ends with a newline gets no blank line", () => {
  using dir = tempDir();
  const path = `${dir.path}/audit.log`;
  const warnings: string[] = [];
  const log = writer(path, warnings);
  log.append(EVENT);
  log.append({ ...EVENT, event: "acquire" });
  assertEquals(
    Deno.readTextFileSync(path),
    encodeEvent(EVENT) + encodeEvent({ ...EVENT, event: "acquire" }),
  );
  assertEquals(warnings, []);
});

Deno.test("an audit log that cannot be written gives one warning and no exception", () => {
  using dir = tempDir();
  const path = `${dir.path}/audit.log`;
  Deno.mkdirSync(path); // a directory where the log should be
  const warnings: string[] = [];
  const log = writer(path, warnings);
  log.append(EVENT);
  log.append(EVENT);
  assertEquals(warnings.length, 1);
  assertEquals(warnings[0].startsWith(`could not write the audit log ${path}: `), true);
});

/** Does process `pid` have `path` open? Read from /proc. */
function hasOpen(pid: number, path: string): boolean {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/fd`)].some((fd) => {
      try {
        return Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`) === path;
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false;
  }
}

Deno.test({
  name: "a writer whose log is rotated between its open and its write appends to the new log",
  // Whether the writer has the log open is read from /proc.
  ignore: Deno.build.os !== "linux",
}, async () => {
  using dir = tempDir();
  const path = `${dir.path}/audit.log`;
  const before = encodeEvent(EVENT);
  Deno.writeTextFileSync(path, before);
  // Hold the log's exclusive lock, as a reader making sure a rotated file is complete does: the
  // writer, once it has the log open, waits before it writes.
  const reader = Deno.openSync(path, { read: true });
  reader.lockSync(true);
  const appender = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", APPENDER, path, "late", "1", String(DEFAULT_AUDIT_LIMITS.maxBytes)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  appender.status.then(() => exited = true);
  try {
    // (A writer that does not wait for the lock is done before it is seen: the checks below fail.)
    await until("the writer to open the log", () => hasOpen(appender.pid, path) || exited, 30_000);
    Deno.linkSync(path, `${path}.1`);
    Deno.removeSync(path);
  } finally {
    reader.unlockSync();
    reader.close();
  }
  const out = await appender.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(Deno.readTextFileSync(`${path}.1`), before, "the rotated file is final");
  const lines = Deno.readTextFileSync(path).trim().split("\n");
  assertEquals(lines.map((l) => decodeEventLine(l)?.record.agent_id), ["late"]);
});
