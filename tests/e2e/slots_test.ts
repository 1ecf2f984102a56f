/**
 * End-to-end: counting locks (`--slots N`) through the real entry point. Every case but the ones
 * about files (a lock file from before slots, a link in place of a slot file) runs on every
 * backend (`backendTest`).
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { backendTest, eventually } from "../helpers/backends.ts";
import { finish, holderEnv, lokt, startLokt, tempDir } from "../helpers/cli.ts";

backendTest(
  "--slots 0, negative, fractional, non-numeric and absurd values are usage errors that touch nothing",
  async (place) => {
    const env = place.env("agent-a");
    for (const value of ["0", "-1", "1.5", "abc", "257", "99999999999"]) {
      for (const args of [["lock", "db"], ["guard", "db", "--", "true"]]) {
        const run = await lokt([...args.slice(0, 2), "--slots", value, ...args.slice(2)], { env });
        assertEquals(run.code, 64, `${args[0]} --slots ${value}: ${run.stderr}`);
        assertMatch(run.stderr, /--slots/);
      }
    }
    assertEquals(await exists(place.root), false, "no root was created");
    assertEquals(await place.events(), [], "nothing recorded");
  },
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

backendTest(
  "three holders fill a 3-slot name; the fourth is refused; status, why and exists show them all",
  async (place) => {
    const root = place.root;
    for (const [i, agent] of ["a", "b", "c"].entries()) {
      const took = await lokt(["lock", "db", "--slots", "3"], { env: place.env(agent) });
      assertEquals(took.code, 0, took.stderr);
      assertEquals(
        took.stdout,
        `acquired lock "db" (slot ${i + 1} of 3, fence ${i + 1}, no TTL)\n`,
      );
      const record = (await place.holder("db", i + 1))!;
      assertEquals([record.slot, record.slots, record.fence, record.agentId], [
        i + 1,
        3,
        i + 1,
        agent,
      ]);
    }
    if (place.backend === "files") {
      assertEquals(await exists(`${root}/locks/db.json`), false, "no plain lock file");
    }

    const fourth = await lokt(["lock", "db", "--slots", "3"], { env: place.env("d") });
    assertEquals(fourth.code, 2, fourth.stderr);
    assertMatch(fourth.stderr, /all 3 slots of lock "db" are held; slot 1: held by tester@/);

    await showsThreeHolders(place.env("d"));

    const freed = await lokt(["unlock", "db"], { env: place.env("b") });
    assertEquals(freed.stdout, `released slot 2 of 3 of lock "db"\n`, freed.stderr);
    assertEquals((await place.observe("db")).holders.map((h) => h.slot), [1, 3]);
    const d = await lokt(["lock", "db", "--slots", "3", "--json"], { env: place.env("d") });
    const taken = JSON.parse(d.stdout);
    assertEquals([taken.slot, taken.slots, taken.fence], [2, 3, 4], "the freed slot, a new fence");

    const events = (await place.events()).filter((e) => e.event === "acquire");
    assertEquals(
      events.map((e) => (e.extra as Record<string, unknown>).slot),
      [1, 2, 3, 2],
      "the audit lines carry the slot",
    );
  },
);

/** `status`, `why` and `exists`, run as `env`, on a 3-slot name "db" held by agents a, b and c. */
async function showsThreeHolders(env: Record<string, string>): Promise<void> {
  const status = await lokt(["status", "db"], { env });
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stdout, /^db: 3\/3 held\n/);
  const statusJson = JSON.parse(
    (await lokt(["status", "db", "--json"], { env })).stdout,
  );
  assertEquals([statusJson.slots, statusJson.held], [3, 3]);
  assertEquals(statusJson.holders.map((h: { slot: number }) => h.slot), [1, 2, 3]);
  const all = await lokt(["status"], { env });
  assertEquals(all.stdout.split("\n").filter((l) => /slot \d, 3\/3 held/.test(l)).length, 3);

  assertEquals((await lokt(["exists", "db"], { env })).code, 0);
  const why = await lokt(["why", "db", "--json"], { env });
  assertEquals(why.code, 2, why.stderr);
  const diagnosis = JSON.parse(why.stdout);
  assertEquals([diagnosis.outcome, diagnosis.slots, diagnosis.held], ["held", 3, 3]);
  assertEquals(diagnosis.holders.map((h: { agent_id: string }) => h.agent_id), ["a", "b", "c"]);
  const whyText = await lokt(["why", "db"], { env });
  assertMatch(whyText.stdout, /Slots: 3\/3 held\n {4}1: .*\n {4}2: .*\n {4}3: /);
}

backendTest(
  "a caller with another number of slots is refused with the current one, until the name is idle",
  async (place) => {
    assertEquals((await lokt(["lock", "db", "--slots", "3"], { env: place.env("a") })).code, 0);

    const two = await lokt(["lock", "db", "--slots", "2"], { env: place.env("b") });
    assertEquals(two.code, 64, two.stderr);
    assertMatch(two.stderr, /lock "db" is in use with 3 slot\(s\) \(1 live holder\(s\)\), not 2/);
    assertMatch(two.stderr, /hint: use --slots 3, or wait until `lokt exists db` exits 3/);
    const plain = await lokt(["guard", "db", "--", "true"], { env: place.env("b") });
    assertEquals(plain.code, 64, plain.stderr);
    assertMatch(plain.stderr, /in use with 3 slot\(s\).*not 1/);
    const json = await lokt(["lock", "db", "--json"], { env: place.env("b") });
    assertEquals(JSON.parse(json.stdout).error.code, "slots_mismatch");

    // The other way round: a plain lock refuses a slotted caller.
    assertEquals((await lokt(["lock", "build"], { env: place.env("a") })).code, 0);
    const slotted = await lokt(["lock", "build", "--slots", "2"], { env: place.env("b") });
    assertEquals(slotted.code, 64, slotted.stderr);
    assertMatch(
      slotted.stderr,
      /in use with 1 slot\(s\).*not 2\n.*use --slots 1 \(or no --slots\)/,
    );

    // Once idle, the number of slots can change.
    assertEquals((await lokt(["unlock", "db"], { env: place.env("a") })).code, 0);
    assertEquals((await place.observe("db")).holders, []);
    const now2 = await lokt(["lock", "db", "--slots", "2", "--json"], { env: place.env("b") });
    assertEquals(now2.code, 0, now2.stderr);
    assertEquals(JSON.parse(now2.stdout).fence, 2, "fences keep growing across a change of N");
  },
);

backendTest("--slots 1 is the plain lock", async (place) => {
  const took = await lokt(["lock", "build", "--slots", "1"], { env: place.env("a") });
  assertEquals(took.stdout, `acquired lock "build" (fence 1, no TTL)\n`, took.stderr);
  const record = (await place.holder("build"))!;
  assertEquals([record.slot, record.slots], [undefined, undefined], "no slot fields");
  if (place.backend === "files") {
    const text = Deno.readTextFileSync(`${place.root}/locks/build.json`);
    assert(!/"slot/.test(text), "no slot fields in a plain lock file");
    assertEquals(await exists(`${place.root}/slots`), false);
  }
  // The same holder without the flag re-enters: it is the same lock.
  const again = await lokt(["lock", "build"], { env: place.env("a") });
  assertMatch(again.stdout, /^refreshed lock "build" \(fence 1/);
  assertEquals((await lokt(["unlock", "build"], { env: place.env("a") })).code, 0);
});

Deno.test("a lock file from before slots keeps working", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;

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

backendTest(
  "guard gives its command LOKT_SLOT beside LOKT_FENCE, a different slot to each guard inside",
  async (place) => {
    const gate = `${place.dir}/gate`;
    const script =
      `echo "slot=$LOKT_SLOT fence=$LOKT_FENCE"; while [ ! -e ${gate} ]; do sleep 0.05; done`;
    const running = async (slot: number) => ((await place.holder("db", slot))?.child?.pid ?? 0) > 0;
    const first = startLokt(
      ["guard", "db", "--slots", "2", "--", "sh", "-c", script],
      place.env("a"),
    );
    await eventually("the first guard's command", () => running(1));
    const second = startLokt(
      ["guard", "db", "--slots", "2", "--", "sh", "-c", script],
      place.env("b"),
    );
    await eventually("the second guard's command", () => running(2));
    const third = await lokt(["guard", "db", "--slots", "2", "--", "true"], {
      env: place.env("c"),
    });
    assertEquals(third.code, 2, "a third guard is refused while two run");
    Deno.writeTextFileSync(gate, "");
    const [a, b] = [await finish(first), await finish(second)];
    assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
    assertEquals(a.stdout, "slot=1 fence=1\n");
    assertEquals(b.stdout, "slot=2 fence=2\n");
    const plain = await lokt(["guard", "solo", "--", "sh", "-c", "echo $LOKT_SLOT"], {
      env: place.env("a"),
    });
    assertEquals(plain.stdout, "1\n", "a plain guard's command sees slot 1");
  },
);

backendTest(
  "a freed slot goes to the earliest waiter, then the next, in the order they queued",
  async (place) => {
    for (const agent of ["a", "b"]) {
      assertEquals((await lokt(["lock", "db", "--slots", "2"], { env: place.env(agent) })).code, 0);
    }
    const waiters: Deno.ChildProcess[] = [];
    for (const [i, agent] of ["w1", "w2", "w3"].entries()) {
      waiters.push(
        startLokt(["lock", "db", "--slots", "2", "--wait", "--json", "--quiet"], place.env(agent)),
      );
      await eventually(`ticket ${i + 1}`, async () => await place.tickets("db") === i + 1);
    }
    // A newcomer without --wait is refused while they queue, though a slot is about to free.
    assertEquals((await lokt(["unlock", "db"], { env: place.env("a") })).code, 0);
    const w1 = JSON.parse((await finish(waiters[0])).stdout);
    assertEquals([w1.slot, w1.lock.agent_id], [1, "w1"]);
    assertEquals(await place.tickets("db"), 2, "w2 and w3 still wait");
    const jumper = await lokt(["lock", "db", "--slots", "2"], { env: place.env("x") });
    assertEquals(jumper.code, 2, "no free slot for a newcomer");

    assertEquals((await lokt(["unlock", "db"], { env: place.env("b") })).code, 0);
    const w2 = JSON.parse((await finish(waiters[1])).stdout);
    assertEquals([w2.slot, w2.lock.agent_id], [2, "w2"]);
    assertEquals((await lokt(["unlock", "db"], { env: place.env("w1") })).code, 0);
    const w3 = JSON.parse((await finish(waiters[2])).stdout);
    assertEquals([w3.slot, w3.lock.agent_id], [1, "w3"]);
    assert(w1.fence < w2.fence && w2.fence < w3.fence, "fences grow in the order of the hand-offs");
  },
);

backendTest("a dead holder's slot is taken over, and a freeze closes every slot", async (place) => {
  const sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
  const pid = String(sleeper.pid);
  const a = await lokt(["lock", "db", "--slots", "2", "--pid", pid], { env: place.env("a") });
  assertEquals(a.code, 0, a.stderr);
  assertEquals((await lokt(["lock", "db", "--slots", "2"], { env: place.env("b") })).code, 0);
  assertEquals((await lokt(["lock", "db", "--slots", "2"], { env: place.env("c") })).code, 2);
  sleeper.kill("SIGKILL");
  await sleeper.status;
  const c = await lokt(["lock", "db", "--slots", "2", "--json"], { env: place.env("c") });
  assertEquals(c.code, 0, c.stderr);
  const took = JSON.parse(c.stdout);
  assertEquals([took.slot, took.fence, took.replaced.kind], [1, 3, "stale"]);
  const prune = (await place.events()).find((e) => e.event === "auto-prune")!;
  assertEquals((prune.extra as Record<string, unknown>).slot, 1);

  assertEquals((await lokt(["unlock", "db"], { env: place.env("c") })).code, 0);
  const frozen = await lokt(["freeze", "db", "--ttl", "5m"], { env: place.env("ops") });
  assertEquals(frozen.code, 0, frozen.stderr);
  const refused = await lokt(["lock", "db", "--slots", "2"], { env: place.env("d") });
  assertEquals(refused.code, 2, "a frozen name has no free slot");
  assertMatch(refused.stderr, /frozen/);
  const forced = await lokt(["unlock", "db", "--force", "--json"], { env: place.env("ops") });
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
