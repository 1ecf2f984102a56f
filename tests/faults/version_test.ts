/**
 * Fault: a lock (or freeze) file written by a newer lokt, format version 2. This lokt cannot
 * judge it, so it never overwrites it: lock, unlock and status NAME refuse with "written by a
 * newer lokt" (exit 1); status lists it as unreadable; exists and a new lock treat the name as
 * held. `unlock NAME --force` (`unfreeze NAME --force` for a freeze) is the one way to remove it,
 * and the audit log records that.
 */

import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { auditEvents, holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { assertCleanError } from "./helpers.ts";

const NEWER = JSON.stringify(
  {
    version: 2,
    name: "deploy",
    lock_id: "0123456789abcdef0123456789abcdef",
    owner: "future",
    host: "elsewhere",
    pid: 0,
    agent_id: "",
    acquired_ts: "2026-11-22T05:00:00.000Z",
    ttl_sec: 0,
    expires_at: null,
    holders: [{ owner: "future", shares: 3 }], // something version 1 knows nothing about
  },
  null,
  2,
) + "\n";

const NEWER_MESSAGE =
  /was written by a newer lokt \(format version 2; this lokt reads version 1\); it is left as it is/;

Deno.test("a lock file from a newer lokt is refused by lock, unlock and status, and never overwritten", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-a");
  assertEquals((await lokt(["lock", "other"], { env })).code, 0); // creates the layout
  const path = `${root}/locks/deploy.json`;
  Deno.writeTextFileSync(path, NEWER);

  for (
    const args of [
      ["lock", "deploy"],
      ["unlock", "deploy"],
      ["unlock", "deploy", "--break-stale"],
      ["status", "deploy"],
    ]
  ) {
    const result = await lokt(args, { env });
    assertEquals(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
    assertCleanError(result, NEWER_MESSAGE);
    assertMatch(
      result.stderr,
      /^hint: upgrade lokt to work with it, or remove it with `lokt unlock deploy --force`$/m,
    );
    assertEquals(Deno.readTextFileSync(path), NEWER, `${args.join(" ")} left the file as it was`);
  }

  const status = await lokt(["status"], { env });
  assertEquals(status.code, 0, status.stderr);
  const problem = "format version 2 (written by a newer lokt)";
  assertMatch(
    status.stdout,
    /^deploy\s+UNREADABLE .*format version 2 \(written by a newer lokt\)$/m,
  );
  const doctor = await lokt(["doctor"], { env });
  assertEquals(doctor.stdout.includes(`locks/deploy.json (${problem})`), true, doctor.stdout);
  assertEquals((await lokt(["exists", "deploy"], { env })).code, 0, "the name counts as held");
  assertEquals(Deno.readTextFileSync(path), NEWER);
  assertEquals(auditEvents(root).map((e) => e.event), ["acquire"], "nothing else happened");
});

Deno.test("unlock --force removes a newer lock file and records it; then the name is free", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-a");
  assertEquals((await lokt(["lock", "other"], { env })).code, 0);
  Deno.writeTextFileSync(`${root}/locks/deploy.json`, NEWER);

  const forced = await lokt(["unlock", "deploy", "--force"], { env });
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(forced.stdout, 'removed the unreadable lock file of "deploy" (format version 2)\n');
  const events = auditEvents(root);
  assertEquals(events.map((e) => e.event), ["acquire", "force-break"]);
  assertEquals((events[1].extra as Record<string, unknown>).unsupported_version, 2);

  const took = await lokt(["lock", "deploy"], { env });
  assertEquals(took.code, 0, took.stderr);
  assertMatch(took.stdout, /acquired lock "deploy" \(fence 1,/);
});

Deno.test("a freeze file from a newer lokt blocks the name, and only unfreeze --force removes it", async () => {
  using dir = tempDir("lokt-fault-");
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-a");
  assertEquals((await lokt(["lock", "other"], { env })).code, 0);
  const path = `${root}/freezes/deploy.json`;
  Deno.writeTextFileSync(path, NEWER.replace('"ttl_sec": 0', '"kind": "freeze", "ttl_sec": 0'));
  const before = Deno.readTextFileSync(path);

  const refused = await lokt(["lock", "deploy"], { env });
  assertEquals(refused.code, 1, refused.stderr);
  assertCleanError(refused, NEWER_MESSAGE);
  assertMatch(refused.stderr, /`lokt unfreeze deploy --force`/);
  assertEquals(Deno.readTextFileSync(path), before);

  const unfreeze = await lokt(["unfreeze", "deploy"], { env });
  assertEquals(unfreeze.code, 1, unfreeze.stderr);
  assertCleanError(unfreeze, NEWER_MESSAGE);
  assertEquals(Deno.readTextFileSync(path), before);

  const lifted = await lokt(["unfreeze", "deploy", "--force"], { env });
  assertEquals(lifted.code, 0, lifted.stderr);
  assertEquals((await lokt(["lock", "deploy"], { env })).code, 0);
});
