/**
 * End-to-end: `freeze` and `unfreeze`, and how a freeze stops `lock`, through the real entry
 * point. Every case but the unreadable freeze file runs on every backend (`backendTest`).
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { backendTest, eventually, type Place } from "../helpers/backends.ts";
import { auditEvents, holderEnv, lokt, MAIN, tempDir } from "../helpers/cli.ts";

const HOST = Deno.hostname();

function owner(root: string, name: string, agent = name): Record<string, string> {
  return holderEnv(root, agent, { LOKT_OWNER: name });
}

/** The environment of owner `name` (its agent id too) on `place`'s backend. */
function ownerOn(place: Place, name: string): Record<string, string> {
  return place.env(name, { LOKT_OWNER: name });
}

/** Whether `name` has a freeze record (an expired one included). */
async function frozen(place: Place, name: string): Promise<boolean> {
  return (await place.observe(name)).freeze !== undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

backendTest(
  "a frozen name refuses lock with exit 2, naming who froze it and why, and a timed wait ends with exit 2",
  async (place) => {
    const froze = await lokt(["freeze", "deploy", "--ttl", "10m", "--reason", "incident 42"], {
      env: ownerOn(place, "ci"),
    });
    assertEquals(froze.code, 0, froze.stderr);
    assertMatch(froze.stdout, /^frozen "deploy" for 10m0s \(until \S+Z\): incident 42\n$/);

    const refused = await lokt(["lock", "deploy"], { env: ownerOn(place, "alice") });
    assertEquals(refused.code, 2);
    assertMatch(
      refused.stderr,
      new RegExp(`"deploy" is frozen by ci@${HOST} for another 9m5\\ds: incident 42`),
    );
    const byFreezer = await lokt(["lock", "deploy"], { env: ownerOn(place, "ci") });
    assertEquals(byFreezer.code, 2, "the freeze refuses its own owner's locks too");

    const waited = await lokt(["lock", "deploy", "--wait", "--timeout", "300ms"], {
      env: ownerOn(place, "alice"),
    });
    assertEquals(waited.code, 2, waited.stderr);
    assertMatch(waited.stderr, /timed out after \d+ms waiting: "deploy" is frozen by ci@/);
    assertEquals(await place.holder("deploy"), undefined, "nobody got the lock");
    assertEquals(
      (await place.events()).map((e) => `${e.event}:${e.owner}`),
      ["freeze:ci", "freeze-deny:alice", "freeze-deny:ci", "freeze-deny:alice", "timeout:alice"],
    );
  },
);

backendTest("a waiting lock gets the name as soon as the freeze is lifted", async (place) => {
  assertEquals(
    (await lokt(["freeze", "deploy", "--ttl", "10m"], { env: ownerOn(place, "ci") })).code,
    0,
  );
  const waiter = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "lock", "deploy", "--wait", "--timeout", "30s", "--json"],
    env: ownerOn(place, "alice"),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    // Its ticket shows it is waiting behind the freeze.
    await eventually("the waiter's ticket", async () => await place.tickets("deploy") > 0, 30_000);
    assertEquals(await place.holder("deploy"), undefined);
    const lifted = await lokt(["unfreeze", "deploy"], { env: ownerOn(place, "ci") });
    assertEquals([lifted.code, lifted.stdout], [0, 'unfroze "deploy"\n'], lifted.stderr);
    const out = await waiter.output();
    const text = new TextDecoder();
    assertEquals(out.code, 0, text.decode(out.stderr));
    const result = JSON.parse(text.decode(out.stdout));
    assertEquals([result.status, result.lock.owner, result.fence], ["acquired", "alice", 1]);
    assertMatch(text.decode(out.stderr), /lokt: waiting: "deploy" is frozen by ci@/);
  } finally {
    try {
      waiter.kill("SIGKILL");
    } catch { /* already exited */ }
  }
  const events = (await place.events()).map((e) => `${e.event}:${e.owner}`);
  assertEquals(events, ["freeze:ci", "freeze-deny:alice", "unfreeze:ci", "acquire:alice"]);
});

backendTest(
  "an expired freeze no longer blocks: the next lock removes it and records freeze-expire",
  async (place) => {
    assertEquals(
      (await lokt(["freeze", "deploy", "--ttl", "300ms"], { env: ownerOn(place, "ci") })).code,
      0,
    );
    assert(await frozen(place, "deploy"));
    await new Promise((r) => setTimeout(r, 400)); // let the freeze's TTL run out
    const took = await lokt(["lock", "deploy"], { env: ownerOn(place, "alice") });
    assertEquals(took.code, 0, took.stderr);
    assert(!await frozen(place, "deploy"), "the expired freeze was removed");
    const events = await place.events();
    assertEquals(events.map((e) => `${e.event}:${e.owner}`), [
      "freeze:ci",
      "freeze-expire:alice",
      "acquire:alice",
    ]);
    assertEquals((events[1].extra as Record<string, unknown>).freeze_owner, "ci");
  },
);

backendTest(
  "an expired freeze is lifted by anyone's unfreeze, or replaced by another's freeze, its expiry recorded",
  async (place) => {
    for (const name of ["lifted", "replaced"]) {
      const ci = ownerOn(place, "ci");
      assertEquals((await lokt(["freeze", name, "--ttl", "300ms"], { env: ci })).code, 0);
    }
    await new Promise((r) => setTimeout(r, 400)); // let the freezes' TTL run out
    const lifted = await lokt(["unfreeze", "lifted"], { env: ownerOn(place, "bob") });
    assertEquals([lifted.code, lifted.stdout], [
      0,
      'the freeze of "lifted" had already expired; removed it\n',
    ], lifted.stderr);
    assert(!await frozen(place, "lifted"));
    const again = await lokt(["unfreeze", "lifted"], { env: ownerOn(place, "bob") });
    assertEquals(again.code, 3, "nothing left to lift");

    const replaced = await lokt(["freeze", "replaced", "--ttl", "1m", "--json"], {
      env: ownerOn(place, "bob"),
    });
    assertEquals(replaced.code, 0, replaced.stderr);
    const out = JSON.parse(replaced.stdout);
    assertEquals([out.status, out.freeze.owner], ["frozen", "bob"]);
    const events = (await place.events()).map((e) => `${e.event}:${e.name}:${e.owner}`);
    assertEquals(events, [
      "freeze:lifted:ci",
      "freeze:replaced:ci",
      "freeze-expire:lifted:bob",
      "freeze-expire:replaced:bob",
      "freeze:replaced:bob",
    ]);
  },
);

backendTest(
  "freeze needs a positive --ttl and a valid name: usage errors exit 64 with a hint, touching nothing",
  async (place) => {
    const env = ownerOn(place, "ci");
    const cases: [string[], RegExp][] = [
      [
        ["freeze", "deploy"],
        /error: freeze needs --ttl.*\nhint: e\.g\. lokt freeze deploy --ttl 15m/,
      ],
      [["freeze", "deploy", "--ttl", "15"], /--ttl: "15" has no unit/],
      [["freeze", "deploy", "--ttl", "0s"], /zero/],
      [["freeze", "--ttl", "5m"], /missing NAME/],
      [["freeze", "../x", "--ttl", "5m"], /invalid lock name/],
      [["unfreeze"], /missing NAME/],
      [["unfreeze", "a/b"], /invalid lock name/],
      [["unfreeze", "deploy", "--froce"], /unknown flag --froce .*\n.*did you mean --force\?/],
    ];
    for (const [args, message] of cases) {
      const r = await lokt(args, { env });
      assertEquals(r.code, 64, `${args.join(" ")}: ${r.stderr}`);
      assertMatch(r.stderr, message, args.join(" "));
    }
    assert(!exists(place.root), "no usage error created the root");
    assertEquals(await place.events(), [], "nothing recorded");
  },
);

backendTest(
  "the freezer extends its freeze (keeping the reason); another owner is refused with exit 2",
  async (place) => {
    const ci = ownerOn(place, "ci");
    const first = await lokt(["freeze", "deploy", "--ttl", "1m", "--reason", "release", "--json"], {
      env: ci,
    });
    assertEquals(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout);
    assertEquals([a.status, a.name, a.freeze.owner, a.freeze.ttl_sec, a.freeze.reason_text], [
      "frozen",
      "deploy",
      "ci",
      60,
      "release",
    ]);

    const again = await lokt(["freeze", "deploy", "--ttl", "2h", "--json"], { env: ci });
    assertEquals(again.code, 0, again.stderr);
    const b = JSON.parse(again.stdout);
    assertEquals([b.status, b.freeze.ttl_sec, b.freeze.reason_text, b.freeze.lock_id], [
      "extended",
      7200,
      "release",
      a.freeze.lock_id,
    ]);

    const other = await lokt(["freeze", "deploy", "--ttl", "5m"], { env: ownerOn(place, "bob") });
    assertEquals(other.code, 2);
    assertMatch(other.stderr, new RegExp(`"deploy" is already frozen by ci@${HOST} .*: release`));
    assertMatch(other.stderr, /hint: only ci can extend it; .*lokt unfreeze deploy --force/);
  },
);

backendTest(
  "unfreeze: another owner exits 4, --force lifts it and is recorded, nothing to lift exits 3",
  async (place) => {
    assertEquals(
      (await lokt(["freeze", "deploy", "--ttl", "1h"], { env: ownerOn(place, "ci") })).code,
      0,
    );

    const notOwner = await lokt(["unfreeze", "deploy"], { env: ownerOn(place, "bob") });
    assertEquals(notOwner.code, 4);
    assertMatch(
      notOwner.stderr,
      new RegExp(`freeze "deploy" belongs to ci@${HOST} .*, not to bob`),
    );
    assertMatch(notOwner.stderr, /hint: lift it anyway with `lokt unfreeze deploy --force`/);
    assert(await frozen(place, "deploy"), "still frozen");

    const forced = await lokt(["unfreeze", "deploy", "--force", "--json"], {
      env: ownerOn(place, "bob"),
    });
    assertEquals(forced.code, 0, forced.stderr);
    const out = JSON.parse(forced.stdout);
    assertEquals([out.status, out.name, out.freeze.owner], ["force-unfrozen", "deploy", "ci"]);
    assert(!await frozen(place, "deploy"));

    const nothing = await lokt(["unfreeze", "deploy"], { env: ownerOn(place, "ci") });
    assertEquals(nothing.code, 3);
    assertMatch(nothing.stderr, /freeze "deploy" not found/);

    const events = await place.events();
    assertEquals(events.map((e) => `${e.event}:${e.owner}`), ["freeze:ci", "force-unfreeze:bob"]);
    assertEquals((events[1].extra as Record<string, unknown>).freeze_owner, "ci");
  },
);

Deno.test("an unreadable freeze file blocks lock, is refused by plain unfreeze and removed by --force", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = owner(root, "ci");
  assertEquals((await lokt(["freeze", "seed", "--ttl", "1m"], { env })).code, 0); // creates the root
  Deno.writeTextFileSync(`${root}/freezes/deploy.json`, "{not json");

  const refused = await lokt(["lock", "deploy"], { env: owner(root, "alice") });
  assertEquals(refused.code, 2);
  assertMatch(refused.stderr, /"deploy" is frozen: its freeze file is unreadable/);

  const plain = await lokt(["unfreeze", "deploy"], { env });
  assertEquals(plain.code, 1);
  assertMatch(plain.stderr, /freeze file of "deploy" is unreadable: not JSON/);
  assertMatch(plain.stderr, /hint: remove it with `lokt unfreeze deploy --force`/);

  const forced = await lokt(["unfreeze", "deploy", "--force"], { env });
  assertEquals(forced.code, 0, forced.stderr);
  assertMatch(forced.stdout, /removed the unreadable freeze file of "deploy" \(not JSON/);
  assertEquals(auditEvents(root).map((e) => e.event), ["freeze", "freeze-deny", "force-unfreeze"]);
});
