/**
 * End-to-end: `lock`, `unlock`, `status`, `exists` through the real entry point. The cases about
 * lock semantics run on every backend (`backendTest`); those about files (the lock root, unreadable
 * lock files) on files only.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { backendTest } from "../helpers/backends.ts";
import { auditEvents, deadPid, holderEnv, lokt, tempDir } from "../helpers/cli.ts";

const HOST = Deno.hostname();

backendTest(
  "a held lock denies another holder, also long after the holder's lokt exited",
  async (place) => {
    const a = place.env("agent-a");
    const took = await lokt(["lock", "build", "--ttl", "5m"], { env: a });
    assertEquals(took.code, 0, took.stderr);
    assertMatch(took.stdout, /^acquired lock "build" \(fence 1, expires in (4m59s|5m0s)\)\n$/);

    const otherOwner = await lokt(["lock", "build"], {
      env: place.env("agent-a", { LOKT_OWNER: "bob" }),
    });
    assertEquals(otherOwner.code, 2);
    assertMatch(
      otherOwner.stderr,
      new RegExp(`lock "build" held by tester@${HOST} \\(agent agent-a\\) for \\d`),
    );

    await new Promise((r) => setTimeout(r, 1500)); // A's lokt process is long gone
    const sameUserOtherAgent = await lokt(["lock", "build"], { env: place.env("agent-b") });
    assertEquals(sameUserOtherAgent.code, 2);
    // The age is at least the pause above; how much more depends on the machine's load (a whole
    // number of seconds reads `2s`, not `2.0s`).
    const age = sameUserOtherAgent.stderr.match(
      new RegExp(`held by tester@${HOST} .* for (\\d+(?:\\.\\d)?)s, expires in 4m\\d\\ds`),
    );
    assert(age !== null && Number(age[1]) >= 1.5, sameUserOtherAgent.stderr);
  },
);

backendTest(
  "the holder re-enters and refreshes the TTL, keeping the fence; another shell of it unlocks",
  async (place) => {
    const a = place.env("agent-a");
    assertEquals((await lokt(["lock", "build", "--ttl", "1m"], { env: a })).code, 0);
    const first = (await place.holder("build"))!;
    await new Promise((r) => setTimeout(r, 50));
    const again = await lokt(["lock", "build", "--ttl", "5m"], { env: a });
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stdout, /refreshed lock "build" \(fence 1,/);
    const second = (await place.holder("build"))!;
    assertEquals([second.lockId, second.fence], [first.lockId, first.fence]);
    assert(second.expiresMs! > first.expiresMs! + 200_000, "TTL refreshed to 5m");

    const b = place.env("agent-b");
    const refused = await lokt(["unlock", "build"], { env: b });
    assertEquals(refused.code, 4);
    assertMatch(
      refused.stderr,
      /lock "build" belongs to tester@.* \(agent agent-a\), not to tester \(agent agent-b\)/,
    );

    const released = await lokt(["unlock", "build"], { env: a });
    assertEquals([released.code, released.stdout], [0, 'released lock "build"\n']);
    assertEquals(await place.holder("build"), undefined);
  },
);

backendTest(
  "unlock --force breaks another holder's lock, and the audit log says so",
  async (place) => {
    assertEquals((await lokt(["lock", "build"], { env: place.env("agent-a") })).code, 0);
    const forced = await lokt(["unlock", "build", "--force"], { env: place.env("agent-b") });
    assertEquals(forced.code, 0, forced.stderr);
    assertMatch(forced.stdout, /broke lock "build" held by tester@.*\(--force\)/);
    const events = (await place.events()).map((e) => `${e.event}:${e.agent_id}`);
    assertEquals(events, ["acquire:agent-a", "force-break:agent-b"]);
  },
);

backendTest(
  "an expired lock is taken over by the next lock, with a break event before the acquire",
  async (place) => {
    assertEquals(
      (await lokt(["lock", "deploy", "--ttl", "2s"], { env: place.env("agent-a") })).code,
      0,
    );
    const early = await lokt(["lock", "deploy"], { env: place.env("agent-b") });
    assertEquals(early.code, 2, "not expired yet");
    await new Promise((r) => setTimeout(r, 2_100));
    const late = await lokt(["lock", "deploy", "--json"], { env: place.env("agent-b") });
    assertEquals(late.code, 0, late.stderr);
    const out = JSON.parse(late.stdout);
    assertEquals([out.status, out.fence, out.replaced.kind, out.replaced.reason], [
      "acquired",
      2,
      "stale",
      "expired",
    ]);
    assertEquals(out.waited_sec, 0, "a single attempt waited for nothing");
    const events = (await place.events()).map((e) => e.event);
    assertEquals(events, ["acquire", "deny", "auto-prune", "acquire"]);
  },
);

backendTest(
  "a lock following a --pid process is taken over once that process dies, not before",
  async (place) => {
    const holder = new Deno.Command("sleep", { args: ["60"] }).spawn();
    try {
      const a = place.env("agent-a");
      assertEquals(
        (await lokt(["lock", "db", "--ttl", "1h", "--pid", String(holder.pid)], { env: a })).code,
        0,
      );
      assertEquals((await place.holder("db"))?.pid, holder.pid);
      const b = place.env("agent-b");
      assertEquals((await lokt(["lock", "db"], { env: b })).code, 2, "live process holds it");
      const refuse = await lokt(["unlock", "db", "--break-stale"], { env: b });
      assertEquals(refuse.code, 2);
      assertMatch(refuse.stderr, /lock "db" is not stale \(process alive\)/);
      holder.kill("SIGKILL");
      await holder.status;
      const took = await lokt(["lock", "db"], { env: b });
      assertEquals(took.code, 0, took.stderr);
      assertMatch(took.stdout, /took over a stale lock of tester@.* \(dead\)/);
    } finally {
      try {
        holder.kill("SIGKILL");
      } catch { /* already dead */ }
    }
  },
);

backendTest(
  "--break-stale removes a dead holder's lock and --pid refuses a pid that is not running",
  async (place) => {
    const gone = await deadPid();
    const bad = await lokt(["lock", "x", "--pid", String(gone)], { env: place.env("a") });
    assertEquals(bad.code, 64);
    assertMatch(bad.stderr, new RegExp(`--pid: no process ${gone} is running`));

    const holder = new Deno.Command("sleep", { args: ["60"] }).spawn();
    assertEquals(
      (await lokt(["lock", "x", "--pid", String(holder.pid)], { env: place.env("a") })).code,
      0,
    );
    holder.kill("SIGKILL");
    await holder.status;
    const broke = await lokt(["unlock", "x", "--break-stale"], { env: place.env("b") });
    assertEquals(broke.code, 0, broke.stderr);
    assertMatch(broke.stdout, /removed stale lock "x" of .* \(holder process gone\)/);
    assertEquals((await place.events()).map((e) => e.event), ["acquire", "stale-break"]);
  },
);

Deno.test("bad names exit 64 with a clear message and touch no file", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const sentinels = [`${dir.path}/x.json`, `${dir.path}/sentinel.json`];
  for (const path of sentinels) Deno.writeTextFileSync(path, "{}");
  const names = [
    "../x",
    "a/b",
    "",
    ".",
    "..",
    "-x",
    ".hidden",
    "x".repeat(129),
    "../sentinel",
    "/abs",
  ];
  for (const name of names) {
    for (const [command, ...flags] of [["lock"], ["unlock", "--force"], ["exists"], ["status"]]) {
      // A name that starts with a dash can only be given after `--`.
      const args = [command, ...flags, ...(name.startsWith("-") ? ["--"] : []), name];
      const r = await lokt(args, { env: holderEnv(root, "a") });
      assertEquals(r.code, 64, `${args.join(" ")}: ${r.stderr}`);
      assert(
        r.stderr.startsWith(`error: invalid lock name ${JSON.stringify(name)}: `),
        `${args.join(" ")}: ${r.stderr}`,
      );
    }
  }
  for (const path of sentinels) assertEquals(Deno.readTextFileSync(path), "{}");
  let rootExists = true;
  try {
    Deno.statSync(root);
  } catch {
    rootExists = false;
  }
  assertEquals(rootExists, false, "no file was touched: the root was not even created");
});

Deno.test("an empty and a garbage lock file: shown as unreadable, removed by --force, taken over when old", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "a");
  assertEquals((await lokt(["lock", "seed"], { env })).code, 0); // creates the root
  Deno.writeTextFileSync(`${root}/locks/empty.json`, "");
  Deno.writeTextFileSync(`${root}/locks/junk.json`, "\u0000garbage{");

  const status = await lokt(["status"], { env });
  assertEquals(status.code, 0);
  assertMatch(status.stdout, /empty\s+UNREADABLE.*the file is empty/);
  assertMatch(status.stdout, /junk\s+UNREADABLE.*not JSON/);
  assertMatch(status.stdout, /2 unreadable file\(s\): empty, junk/);
  const json = JSON.parse((await lokt(["status", "--json"], { env })).stdout);
  assertEquals(json.unreadable.map((u: { name: string }) => u.name), ["empty", "junk"]);

  const young = await lokt(["lock", "empty"], { env });
  assertEquals(young.code, 2, "a fresh unreadable file may still be settling");
  assertMatch(young.stderr, /unreadable lock file \(the file is empty\)/);

  const old = new Date(Date.now() - 60_000);
  Deno.utimeSync(`${root}/locks/empty.json`, old, old);
  const took = await lokt(["lock", "empty"], { env });
  assertEquals(took.code, 0, took.stderr);
  assertMatch(took.stdout, /replaced an unreadable lock file \(the file is empty\)/);

  const forced = await lokt(["unlock", "junk", "--force"], { env });
  assertEquals(forced.code, 0, forced.stderr);
  assertMatch(forced.stdout, /removed the unreadable lock file of "junk"/);
  assertEquals(
    auditEvents(root).map((e) => e.event).filter((e) => e === "corrupt-break").length,
    2,
  );
});

backendTest("flags may follow the name, and usage errors exit 64 with a hint", async (place) => {
  const env = place.env("a");
  assertEquals((await lokt(["lock", "build", "--ttl", "5m", "--json"], { env })).code, 0);
  const forced = await lokt(["unlock", "build", "--force"], { env: place.env("b") });
  assertMatch(forced.stdout, /broke lock/);

  const cases: [string[], RegExp][] = [
    [["lock", "x", "--ttl", "5"], /--ttl: "5" has no unit; write 5s, 5m or 5h/],
    [["lock", "x", "--ttl", "-5m"], /negative/],
    [["lock", "x", "--ttl", "0s"], /zero/],
    [["lock", "x", "--tll", "5m"], /unknown flag --tll .*\n.*did you mean --ttl\?/],
    [["lock", "x", "--timeout", "5s"], /--timeout only applies with --wait/],
    [["lock"], /missing NAME/],
    [["lock", "x", "y"], /unexpected argument "y"/],
    [["unlock", "x", "--force", "--break-stale"], /exclude each other/],
    [["unlock", "x", "--all"], /drop NAME or --all/],
    [["lokk", "x"], /unknown command "lokk"\n.*did you mean `lokt lock`/],
  ];
  for (const [args, message] of cases) {
    const r = await lokt(args, { env });
    assertEquals(r.code, 64, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, message, args.join(" "));
  }
});

backendTest("unlock --all releases only the caller's plain locks", async (place) => {
  const a = place.env("a");
  for (const name of ["one", "two"]) assertEquals((await lokt(["lock", name], { env: a })).code, 0);
  assertEquals((await lokt(["lock", "theirs"], { env: place.env("b") })).code, 0);
  const all = await lokt(["unlock", "--all", "--json"], { env: a });
  assertEquals(JSON.parse(all.stdout), { released: ["one", "two"], count: 2 });
  assertEquals((await place.holder("theirs"))?.agentId, "b");
  assertEquals(await place.holder("one"), undefined);
});

Deno.test("status shows age, TTL, liveness and fence; a single lock in detail; a missing one exits 3", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "a");
  assertEquals((await lokt(["lock", "build", "--ttl", "10m"], { env })).code, 0);
  const list = await lokt(["status"], { env });
  assertMatch(list.stdout, /NAME\s+STATE\s+HOLDER\s+AGE\s+TTL\s+FENCE\s+WHY/);
  assertMatch(
    list.stdout,
    new RegExp(`build\\s+live\\s+tester@${HOST}\\s+\\d+ms\\s+9m59s\\s+1\\s+TTL running`),
  );
  const one = JSON.parse((await lokt(["status", "build", "--json"], { env })).stdout);
  assertEquals([one.name, one.state, one.reason, one.fence, one.ttl_sec, one.agent_id], [
    "build",
    "live",
    "ttl-running",
    1,
    600,
    "a",
  ]);
  const missing = await lokt(["status", "nope"], { env });
  assertEquals(missing.code, 3);
  assertMatch(missing.stderr, /lock "nope" not found/);
});

Deno.test("a root whose tmp/ is missing (laid out half-way when lokt was killed) still takes locks", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-a");
  assertEquals((await lokt(["lock", "job"], { env })).code, 0);
  assertEquals((await lokt(["unlock", "job"], { env })).code, 0);
  Deno.removeSync(`${root}/tmp`, { recursive: true });
  const again = await lokt(["lock", "job"], { env });
  assertEquals(again.code, 0, again.stderr);
  assert(Deno.statSync(`${root}/tmp`).isDirectory);
});

backendTest(
  "two processes with no derivable agent id are two holders: no re-entry, no unlock",
  async (place) => {
    // Detection off and no LOKT_AGENT_ID: nothing tells these two processes apart but their pids.
    const { LOKT_AGENT_ID: _, ...anonymous } = place.env("unused");
    const first = await lokt(["lock", "build", "--ttl", "5m"], { env: anonymous });
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stderr, /^note: lock "build" is held by this lokt process alone \(detection/);
    const recorded = (await place.holder("build"))!;

    const second = await lokt(["lock", "build"], { env: anonymous });
    assertEquals(second.code, 2, `a second process must be denied, got: ${second.stdout}`);
    assertMatch(recorded.agentId, /^process:\d+-/, "recorded as a process-scoped id");
    assertEquals((await lokt(["unlock", "build"], { env: anonymous })).code, 4);
    const all = await lokt(["unlock", "--all", "--json"], { env: anonymous });
    assertEquals(JSON.parse(all.stdout), { released: [], count: 0 });
    assertEquals((await place.holder("build"))?.lockId, recorded.lockId);
  },
);
