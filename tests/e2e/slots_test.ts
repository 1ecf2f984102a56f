/** End-to-end: counting locks (`--slots N`) through the real entry point. */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { auditEvents, finish, holderEnv, lokt, startLokt, tempDir, until } from "../helpers/cli.ts";

function slotFile(root: string, name: string, slot: number) {
  return JSON.parse(Deno.readTextFileSync(`${root}/slots/${name}/${slot}.json`));
}

function tickets(root: string, name: string): number {
  try {
    return [...Deno.readDirSync(`${root}/queue/${name}`)].length;
  } catch {
    return 0;
  }
}

Deno.test("--slots 0, negative, fractional, non-numeric and absurd values are usage errors that touch nothing", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = holderEnv(root, "agent-a");
  for (const value of ["0", "-1", "1.5", "abc", "257", "99999999999"]) {
    for (const args of [["lock", "db"], ["guard", "db", "--", "true"]]) {
      const run = await lokt([...args.slice(0, 2), "--slots", value, ...args.slice(2)], { env });
      assertEquals(run.code, 64, `${args[0]} --slots ${value}: ${run.stderr}`);
      assertMatch(run.stderr, /--slots/);
    }
  }
  assertEquals(await exists(root), false, "no root was created");
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("three holders fill a 3-slot name; the fourth is refused; status, why and exists show them all", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  for (const [i, agent] of ["a", "b", "c"].entries()) {
    const took = await lokt(["lock", "db", "--slots", "3"], { env: holderEnv(root, agent) });
    assertEquals(took.code, 0, took.stderr);
    assertEquals(took.stdout, `acquired lock "db" (slot ${i + 1} of 3, fence ${i + 1}, no TTL)\n`);
    const record = slotFile(root, "db", i + 1);
    assertEquals([record.slot, record.slots, record.fence, record.agent_id], [
      i + 1,
      3,
      i + 1,
      agent,
    ]);
  }
  assertEquals(await exists(`${root}/locks/db.json`), false, "no plain lock file");

  const fourth = await lokt(["lock", "db", "--slots", "3"], { env: holderEnv(root, "d") });
  assertEquals(fourth.code, 2, fourth.stderr);
  assertMatch(fourth.stderr, /all 3 slots of lock "db" are held; slot 1: held by tester@/);

  const status = await lokt(["status", "db"], { env: holderEnv(root, "d") });
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stdout, /^db: 3\/3 held\n/);
  const statusJson = JSON.parse(
    (await lokt(["status", "db", "--json"], { env: holderEnv(root, "d") })).stdout,
  );
  assertEquals([statusJson.slots, statusJson.held], [3, 3]);
  assertEquals(statusJson.holders.map((h: { slot: number }) => h.slot), [1, 2, 3]);
  const all = await lokt(["status"], { env: holderEnv(root, "d") });
  assertEquals(all.stdout.split("\n").filter((l) => /slot \d, 3\/3 held/.test(l)).length, 3);

  assertEquals((await lokt(["exists", "db"], { env: holderEnv(root, "d") })).code, 0);
  const why = await lokt(["why", "db", "--json"], { env: holderEnv(root, "d") });
  assertEquals(why.code, 2, why.stderr);
  const diagnosis = JSON.parse(why.stdout);
  assertEquals([diagnosis.outcome, diagnosis.slots, diagnosis.held], ["held", 3, 3]);
  assertEquals(diagnosis.holders.map((h: { agent_id: string }) => h.agent_id), ["a", "b", "c"]);
  const whyText = await lokt(["why", "db"], { env: holderEnv(root, "d") });
  assertMatch(whyText.stdout, /Slots: 3\/3 held\n {4}1: .*\n {4}2: .*\n {4}3: /);

  const freed = await lokt(["unlock", "db"], { env: holderEnv(root, "b") });
  assertEquals(freed.stdout, `released slot 2 of 3 of lock "db"\n`, freed.stderr);
  assertMatch(
    (await lokt(["status", "db"], { env: holderEnv(root, "d") })).stdout,
    /^db: 2\/3 held/,
  );
  const d = await lokt(["lock", "db", "--slots", "3", "--json"], { env: holderEnv(root, "d") });
  const taken = JSON.parse(d.stdout);
  assertEquals([taken.slot, taken.slots, taken.fence], [2, 3, 4], "the freed slot, a new fence");

  const events = auditEvents(root).filter((e) => e.event === "acquire");
  assertEquals(
    events.map((e) => (e.extra as Record<string, unknown>).slot),
    [1, 2, 3, 2],
    "the audit lines carry the slot",
  );
});

Deno.test("a caller with another number of slots is refused with the current one, until the name is idle", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  assertEquals((await lokt(["lock", "db", "--slots", "3"], { env: holderEnv(root, "a") })).code, 0);

  const two = await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "b") });
  assertEquals(two.code, 64, two.stderr);
  assertMatch(two.stderr, /lock "db" is in use with 3 slot\(s\) \(1 live holder\(s\)\), not 2/);
  assertMatch(two.stderr, /hint: use --slots 3, or wait until `lokt exists db` exits 3/);
  const plain = await lokt(["guard", "db", "--", "true"], { env: holderEnv(root, "b") });
  assertEquals(plain.code, 64, plain.stderr);
  assertMatch(plain.stderr, /in use with 3 slot\(s\).*not 1/);
  const json = await lokt(["lock", "db", "--json"], { env: holderEnv(root, "b") });
  assertEquals(JSON.parse(json.stdout).error.code, "slots_mismatch");

  // The other way round: a plain lock refuses a slotted caller.
  assertEquals((await lokt(["lock", "build"], { env: holderEnv(root, "a") })).code, 0);
  const slotted = await lokt(["lock", "build", "--slots", "2"], { env: holderEnv(root, "b") });
  assertEquals(slotted.code, 64, slotted.stderr);
  assertMatch(slotted.stderr, /in use with 1 slot\(s\).*not 2\n.*use --slots 1 \(or no --slots\)/);

  // Once idle, the number of slots can change.
  assertEquals((await lokt(["unlock", "db"], { env: holderEnv(root, "a") })).code, 0);
  assertEquals((await lokt(["exists", "db"], { env: holderEnv(root, "b") })).code, 3);
  const now2 = await lokt(["lock", "db", "--slots", "2", "--json"], { env: holderEnv(root, "b") });
  assertEquals(now2.code, 0, now2.stderr);
  assertEquals(JSON.parse(now2.stdout).fence, 2, "fences keep growing across a change of N");
});

Deno.test("--slots 1 is the plain lock, and a lock file from before slots keeps working", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const took = await lokt(["lock", "build", "--slots", "1"], { env: holderEnv(root, "a") });
  assertEquals(took.stdout, `acquired lock "build" (fence 1, no TTL)\n`, took.stderr);
  const text = Deno.readTextFileSync(`${root}/locks/build.json`);
  assert(!/"slot/.test(text), "no slot fields in a plain lock file");
  assertEquals(await exists(`${root}/slots`), false);
  // The same holder without the flag re-enters: it is the same lock.
  const again = await lokt(["lock", "build"], { env: holderEnv(root, "a") });
  assertMatch(again.stdout, /^refreshed lock "build" \(fence 1/);
  assertEquals((await lokt(["unlock", "build"], { env: holderEnv(root, "a") })).code, 0);

  // A lock file written in the format of the release before slots (same fields, no slot).
  Deno.mkdirSync(`${root}/locks`, { recursive: true });
  Deno.writeTextFileSync(
    `${root}/locks/old.json`,
    JSON.stringify({
      version: 1,
      name: "old",
      lock_id: "0123456789abcdef0123456789abcdef",
      owner: "tester",
      host: Deno.hostname(),
      pid: 0,
      agent_id: "a",
      acquired_ts: new Date().toISOString(),
      ttl_sec: 0,
      expires_at: null,
      kind: "lock",
      fence: 7,
    }),
  );
  const reentry = await lokt(["lock", "old", "--slots", "1"], { env: holderEnv(root, "a") });
  assertMatch(reentry.stdout, /^refreshed lock "old" \(fence 7/, reentry.stderr);
  const other = await lokt(["lock", "old", "--slots", "2"], { env: holderEnv(root, "b") });
  assertEquals(other.code, 64, other.stderr);
  assertEquals((await lokt(["unlock", "old"], { env: holderEnv(root, "a") })).code, 0);
});

Deno.test("guard gives its command LOKT_SLOT beside LOKT_FENCE, a different slot to each guard inside", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const gate = `${dir.path}/gate`;
  const script =
    `echo "slot=$LOKT_SLOT fence=$LOKT_FENCE"; while [ ! -e ${gate} ]; do sleep 0.05; done`;
  const first = startLokt(
    ["guard", "db", "--slots", "2", "--", "sh", "-c", script],
    holderEnv(root, "a"),
  );
  await until("the first guard's slot file", () => {
    try {
      return slotFile(root, "db", 1).child_pid > 0;
    } catch {
      return false;
    }
  });
  const second = startLokt(
    ["guard", "db", "--slots", "2", "--", "sh", "-c", script],
    holderEnv(root, "b"),
  );
  await until("the second guard's slot file", () => {
    try {
      return slotFile(root, "db", 2).child_pid > 0;
    } catch {
      return false;
    }
  });
  const third = await lokt(["guard", "db", "--slots", "2", "--", "true"], {
    env: holderEnv(root, "c"),
  });
  assertEquals(third.code, 2, "a third guard is refused while two run");
  Deno.writeTextFileSync(gate, "");
  const [a, b] = [await finish(first), await finish(second)];
  assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
  assertEquals(a.stdout, "slot=1 fence=1\n");
  assertEquals(b.stdout, "slot=2 fence=2\n");
  const plain = await lokt(["guard", "solo", "--", "sh", "-c", "echo $LOKT_SLOT"], {
    env: holderEnv(root, "a"),
  });
  assertEquals(plain.stdout, "1\n", "a plain guard's command sees slot 1");
});

Deno.test("a freed slot goes to the earliest waiter, then the next, in the order they queued", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  for (const agent of ["a", "b"]) {
    assertEquals(
      (await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, agent) })).code,
      0,
    );
  }
  const waiters: Deno.ChildProcess[] = [];
  for (const [i, agent] of ["w1", "w2", "w3"].entries()) {
    waiters.push(
      startLokt(
        ["lock", "db", "--slots", "2", "--wait", "--json", "--quiet"],
        holderEnv(root, agent),
      ),
    );
    await until(`ticket ${i + 1}`, () => tickets(root, "db") === i + 1);
  }
  // A newcomer without --wait is refused while they queue, though a slot is about to free.
  assertEquals((await lokt(["unlock", "db"], { env: holderEnv(root, "a") })).code, 0);
  const w1 = JSON.parse((await finish(waiters[0])).stdout);
  assertEquals([w1.slot, w1.lock.agent_id], [1, "w1"]);
  assertEquals(tickets(root, "db"), 2, "w2 and w3 still wait");
  const jumper = await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "x") });
  assertEquals(jumper.code, 2, "no free slot for a newcomer");

  assertEquals((await lokt(["unlock", "db"], { env: holderEnv(root, "b") })).code, 0);
  const w2 = JSON.parse((await finish(waiters[1])).stdout);
  assertEquals([w2.slot, w2.lock.agent_id], [2, "w2"]);
  assertEquals((await lokt(["unlock", "db"], { env: holderEnv(root, "w1") })).code, 0);
  const w3 = JSON.parse((await finish(waiters[2])).stdout);
  assertEquals([w3.slot, w3.lock.agent_id], [1, "w3"]);
  assert(w1.fence < w2.fence && w2.fence < w3.fence, "fences grow in the order of the hand-offs");
});

Deno.test("a dead holder's slot is taken over, and a freeze closes every slot", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
  const pid = String(sleeper.pid);
  const a = await lokt(["lock", "db", "--slots", "2", "--pid", pid], { env: holderEnv(root, "a") });
  assertEquals(a.code, 0, a.stderr);
  assertEquals((await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "b") })).code, 0);
  assertEquals((await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "c") })).code, 2);
  sleeper.kill("SIGKILL");
  await sleeper.status;
  const c = await lokt(["lock", "db", "--slots", "2", "--json"], { env: holderEnv(root, "c") });
  assertEquals(c.code, 0, c.stderr);
  const took = JSON.parse(c.stdout);
  assertEquals([took.slot, took.fence, took.replaced.kind], [1, 3, "stale"]);
  const prune = auditEvents(root).find((e) => e.event === "auto-prune")!;
  assertEquals((prune.extra as Record<string, unknown>).slot, 1);

  assertEquals((await lokt(["unlock", "db"], { env: holderEnv(root, "c") })).code, 0);
  const frozen = await lokt(["freeze", "db", "--ttl", "5m"], { env: holderEnv(root, "ops") });
  assertEquals(frozen.code, 0, frozen.stderr);
  const refused = await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "d") });
  assertEquals(refused.code, 2, "a frozen name has no free slot");
  assertMatch(refused.stderr, /frozen/);
  const forced = await lokt(["unlock", "db", "--force", "--json"], { env: holderEnv(root, "ops") });
  assertEquals(JSON.parse(forced.stdout).count, 1, forced.stderr);
});

Deno.test("a link in place of one slot's file is refused by a take and shown by status beside the live holders", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const took = await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "a") });
  assertEquals(took.code, 0, took.stderr);
  Deno.writeTextFileSync(`${dir.path}/elsewhere.json`, "{}");
  Deno.symlinkSync(`${dir.path}/elsewhere.json`, `${root}/slots/db/2.json`);

  const take = await lokt(["lock", "db", "--slots", "2"], { env: holderEnv(root, "b") });
  assertEquals(take.code, 1, take.stderr);
  assertMatch(take.stderr, /slots\/db\/2\.json is a symbolic link/);

  const status = await lokt(["status", "db"], { env: holderEnv(root, "b") });
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stdout, /^db: 2\/2 held\n/);
  assertMatch(status.stdout, /\n1 +live +tester@/);
  assertMatch(status.stdout, /\n2 +UNREADABLE .*is a symbolic link/);
  const json = await lokt(["status", "db", "--json"], { env: holderEnv(root, "b") });
  const shown = JSON.parse(json.stdout);
  assertEquals([shown.slots, shown.holders.length, shown.unreadable[0].slot], [2, 1, 2]);
  assertEquals(Deno.readTextFileSync(`${dir.path}/elsewhere.json`), "{}", "the link's target");
});
