/** The audit writer's append: whole lines, also after a writer that was cut short mid-line. */

import { type AuditEvent, decodeEventLine, encodeEvent } from "../../src/audit/event.ts";
import { AuditWriter, DEFAULT_AUDIT_LIMITS } from "../../src/audit/writer.ts";
import { assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";

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
