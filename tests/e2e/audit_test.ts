/** End-to-end: `lokt audit` filters, limits, JSON lines, rotated files and `--tail`. */

import { type AuditEvent, encodeEvent } from "../../src/audit/event.ts";
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, MAIN, startLokt, tempDir } from "../helpers/cli.ts";
import { LineReader } from "../helpers/lines.ts";
import { backendTest } from "../helpers/backends.ts";

const OLD = Date.UTC(2020, 5, 1, 12, 0, 0);

function oldEvent(offsetMs: number, kind: AuditEvent["event"], name: string, owner: string) {
  return encodeEvent({
    ts: OLD + offsetMs,
    event: kind,
    name,
    actor: { owner, host: "elsewhere", pid: 7, agentId: "old-agent" },
  });
}

/**
 * A root whose rotated file holds two old events, and whose live log holds, in order:
 * ana acquires a, ana acquires b, bob is denied a, ana releases a, bob acquires a.
 */
async function populated(root: string): Promise<void> {
  Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(
    `${root}/audit.log.1`,
    oldEvent(0, "acquire", "a", "bob") + oldEvent(1000, "release", "a", "bob"),
  );
  const ana = holderEnv(root, "agent-ana", { LOKT_OWNER: "ana" });
  const bob = holderEnv(root, "agent-bob", { LOKT_OWNER: "bob" });
  const steps: [string[], Record<string, string>, number][] = [
    [["lock", "a"], ana, 0],
    [["lock", "b"], ana, 0],
    [["lock", "a"], bob, 2],
    [["unlock", "a"], ana, 0],
    [["lock", "a"], bob, 0],
  ];
  for (const [args, env, code] of steps) {
    const result = await lokt(args, { env });
    assertEquals(result.code, code, `${args.join(" ")}: ${result.stderr}`);
  }
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

const brief = (e: Record<string, unknown>) => `${e.event}:${e.name}:${e.owner}`;

Deno.test("audit on a root with a rotated file and a live log", async (t) => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  await populated(root);
  const env = holderEnv(root, "reader");

  await t.step("filters combine: name, event, owner and since all have to hold", async () => {
    const recent = await lokt(
      ["audit", "--json", "--name", "a", "--event", "acquire,deny", "--owner", "bob", "--since=1h"],
      { env },
    );
    assertEquals(recent.code, 0, recent.stderr);
    assertEquals(jsonLines(recent.stdout).map(brief), ["deny:a:bob", "acquire:a:bob"]);

    const sinceOld = await lokt(
      ["audit", "--name", "a", "--event", "acquire", "--owner", "bob", "--since", "2020-01-01"],
      { env },
    );
    assertEquals(sinceOld.code, 0, sinceOld.stderr);
    const lines = sinceOld.stdout.trimEnd().split("\n");
    assertEquals(lines.length, 2, sinceOld.stdout);
    assertMatch(lines[0], /^2020-06-01T12:00:00\.000Z\s+acquire\s+a\s+bob@elsewhere\s+old-agent/);
    assertMatch(lines[1], /^20\d\d-\S+Z\s+acquire\s+a\s+bob@\S+\s+agent-bob\s+pid=\d+\s+fence=2/);

    const window = await lokt(
      ["audit", "--json", "--since=2020-06-01T11:00:00Z", "--until=2020-06-01T12:00:00.500Z"],
      { env },
    );
    assertEquals(jsonLines(window.stdout).map(brief), ["acquire:a:bob"]);

    const nothing = await lokt(["audit", "--name", "b", "--owner", "bob"], { env });
    assertEquals([nothing.code, nothing.stdout, nothing.stderr], [0, "", "no matching events\n"]);
  });

  await t.step("rotated files come first, and --limit keeps the last N matches", async () => {
    const all = await lokt(["audit", "--json"], { env });
    assertEquals(jsonLines(all.stdout).map(brief), [
      "acquire:a:bob",
      "release:a:bob",
      "acquire:a:ana",
      "acquire:b:ana",
      "deny:a:bob",
      "release:a:ana",
      "acquire:a:bob",
    ]);
    const last = await lokt(["audit", "--limit", "2", "--json"], { env });
    assertEquals(jsonLines(last.stdout).map(brief), ["release:a:ana", "acquire:a:bob"]);
    const lastAcquires = await lokt(["audit", "-n", "2", "--event", "acquire", "--json"], { env });
    assertEquals(jsonLines(lastAcquires.stdout).map(brief), ["acquire:b:ana", "acquire:a:bob"]);
  });

  await t.step("--json prints one parsable object per line with the logged fields", async () => {
    Deno.writeTextFileSync(`${root}/audit.log`, "not json at all\n", { append: true });
    const result = await lokt(["audit", "--json", "--name", "b"], { env });
    assertEquals(result.code, 0);
    const [only, ...rest] = jsonLines(result.stdout);
    assertEquals(rest.length, 0);
    assertEquals(Object.keys(only).sort(), [
      "agent_id",
      "event",
      "extra",
      "fence",
      "host",
      "lock_id",
      "name",
      "owner",
      "pid",
      "ts",
      "ttl_sec",
    ]);
    assertEquals(
      [only.event, only.name, only.owner, only.agent_id],
      ["acquire", "b", "ana", "agent-ana"],
    );
    assertMatch(result.stderr, /skipped 1 unparsable line/);
  });
});

Deno.test("audit refuses unknown events with a suggestion and bad times, and creates no root", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "r");
  const typo = await lokt(["audit", "--event", "acquire,relase"], { env });
  assertEquals(typo.code, 64);
  assertMatch(typo.stderr, /unknown event "relase"[\s\S]*did you mean release\?/);
  const badTime = await lokt(["audit", "--since", "yesterday"], { env });
  assertEquals(badTime.code, 64);
  assertMatch(badTime.stderr, /--since: "yesterday" is neither a duration/);
  const empty = await lokt(["audit"], { env });
  assertEquals([empty.code, empty.stdout], [0, ""]);
  assertMatch(empty.stderr, /no audit log at /);
  assertEquals([...Deno.readDirSync(dir.path)].length, 0, "no root was created");
});

// The two `--tail` cases run on every backend: the file log and the database's audit table.

backendTest(
  "audit --tail --json prints the last events, then events appended after it started",
  async (place) => {
    const env = place.env("agent-t");
    assertEquals((await lokt(["lock", "before"], { env })).code, 0);
    const tail = startLokt(["audit", "--tail", "--json"], env);
    const lines = new LineReader(tail.stdout);
    const deadline = Date.now() + 15_000;
    // Either signal stops it; each backend's case keeps the one it was first written with.
    const signal = place.backend === "files" ? "SIGINT" : "SIGTERM";
    try {
      const first = JSON.parse(await lines.next(deadline));
      assertEquals([first.event, first.name], ["acquire", "before"]);
      const took = await lokt(["lock", "x"], { env });
      assertEquals(took.code, 0, took.stderr);
      const appended = JSON.parse(await lines.next(deadline));
      assertEquals([appended.event, appended.name, appended.agent_id], ["acquire", "x", "agent-t"]);
    } finally {
      tail.kill(signal);
      await lines.cancel();
      const status = await tail.status;
      const stderr = new TextDecoder().decode(await new Response(tail.stderr).arrayBuffer());
      assertEquals(status.code, 0, `tail exits 0 on ${signal}; stderr: ${stderr}`);
    }
  },
);

backendTest(
  "audit --tail stops by itself at the next event once its reader has gone",
  async (place) => {
    const env = place.env("agent-t");
    assertEquals((await lokt(["lock", "before"], { env })).code, 0);
    const tail = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "audit", "--tail"],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines = new LineReader(tail.stdout);
    const deadline = Date.now() + 15_000;
    let exited = false;
    try {
      assertMatch(await lines.next(deadline), /acquire\s+before/);
      await lines.cancel(); // like `| head -1` exiting
      assertEquals((await lokt(["lock", "after"], { env })).code, 0);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ended = await Promise.race([
        tail.status.then((s) => s.code),
        new Promise<"running">((r) =>
          timer = setTimeout(() => r("running"), deadline - Date.now())
        ),
      ]);
      clearTimeout(timer);
      exited = ended !== "running";
      assertEquals(ended, 0);
    } finally {
      if (!exited) tail.kill("SIGKILL");
      await tail.status;
    }
  },
);
