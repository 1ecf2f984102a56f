/**
 * A test writer process: `deno run -A appender.ts <log> <tag> <count> <maxBytes>` appends `count`
 * events through the real `AuditWriter`, rotating at `maxBytes` and keeping every rotated file.
 * Each event carries `extra: { writer: <tag>, seq: 0, 1, ... }`.
 */

import { AuditWriter } from "../../src/audit/writer.ts";

const [log, tag, count, maxBytes] = Deno.args;
const writer = new AuditWriter(log, { maxBytes: Number(maxBytes), keep: 1_000_000 }, (m) => {
  console.error(m);
  Deno.exit(1);
});
for (let seq = 0; seq < Number(count); seq++) {
  writer.append({
    ts: Date.UTC(2026, 0, 1) + seq,
    event: "acquire",
    name: "job",
    actor: { owner: "tester", host: "here", pid: Deno.pid, agentId: tag },
    extra: { writer: tag, seq },
  });
}
