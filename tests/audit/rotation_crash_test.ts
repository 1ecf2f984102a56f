import { AuditWriter } from "../../src/audit/writer.ts";
import type { AuditEvent } from "../../src/audit/event.ts";
import { auditEvents, HALTING_MAIN, holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

function event(seq: number): AuditEvent {
  return {
    ts: Date.UTC(2026, 0, 1) + seq,
    event: "acquire",
    name: "job",
    actor: { owner: "tester", host: "here", pid: 1, agentId: "a" },
    extra: { seq },
  };
}

function seqs(root: string): number[] {
  return auditEvents(root).map((e) => (e.extra as { seq: number }).seq);
}

function inodes(root: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync(root)) {
    if (entry.name.startsWith("audit.log")) found.push(Deno.statSync(`${root}/${entry.name}`).ino!);
  }
  return found;
}

Deno.test("a rotation killed between link and unlink is finished by the next writer, nothing doubled", () => {
  using dir = tempDir();
  const path = `${dir.path}/audit.log`;
  const limits = { maxBytes: 600, keep: 10 };
  const writer = new AuditWriter(path, limits, (m) => {
    throw new Error(m);
  });
  for (let seq = 0; seq < 3; seq++) writer.append(event(seq));
  // What a rotation killed after its link leaves: the full log under its own and the rotated name.
  Deno.linkSync(path, `${path}.1`);

  new AuditWriter(path, limits, (m) => {
    throw new Error(m);
  }).append(event(3));

  assertEquals(seqs(dir.path), [0, 1, 2, 3]);
  const ids = inodes(dir.path);
  assertEquals(new Set(ids).size, ids.length, "no audit file is listed under two names");
  assertEquals(Deno.readTextFileSync(path).trim().split("\n").length, 1);
});

Deno.test("lokt killed mid-rotation leaves an audit log that the next lokt rotates without doubling it", async () => {
  using dir = tempDir();
  const env = (agent: string, extra: Record<string, string> = {}) =>
    holderEnv(dir.path, agent, { LOKT_AUDIT_MAX_BYTES: "700", LOKT_AUDIT_KEEP: "50", ...extra });
  for (let i = 0; i < 3; i++) {
    assertEquals((await lokt(["lock", `n${i}`], { env: env("a") })).code, 0);
  }
  const before = auditEvents(dir.path).length;
  const halted = await lokt(["lock", "n3"], {
    env: env("a", { LOKT_HALT_AT: "audit.rotate.after-link" }),
    entry: HALTING_MAIN,
  });
  assertEquals(halted.code, 137, halted.stderr);
  assertEquals((await lokt(["lock", "n4"], { env: env("a") })).code, 0);

  const events = auditEvents(dir.path);
  const lines = events.map((e) => JSON.stringify(e));
  assertEquals(new Set(lines).size, lines.length, "every audit line appears once");
  assert(events.length >= before + 1);
  const ids = inodes(dir.path);
  assertEquals(new Set(ids).size, ids.length, "no audit file is listed under two names");
});
