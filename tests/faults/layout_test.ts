/**
 * Fault: the lock root's layout is not what lokt made. A plain file where a directory belongs,
 * symbolic links planted inside the root pointing at files elsewhere, a directory where a lock
 * file belongs. lokt says what is wrong, never writes through a link to a file outside the
 * root, and loses nothing.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { auditEvents, holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { assertCleanError } from "./helpers.ts";

const HOUR_AGO = new Date(Date.now() - 3_600_000);

/** A root holding the lock "held", and a sentinel file outside it that nothing may touch. */
async function setUp(dir: string) {
  const root = `${dir}/root`;
  const env = holderEnv(root, "agent-a");
  const took = await lokt(["lock", "held", "--ttl", "10m"], { env });
  assertEquals(took.code, 0, took.stderr);
  const sentinel = `${dir}/sentinel.txt`;
  Deno.writeTextFileSync(sentinel, "precious data\n");
  Deno.utimeSync(sentinel, HOUR_AGO, HOUR_AGO); // old enough to count as abandoned junk
  return {
    root,
    env,
    sentinel,
    held: Deno.readTextFileSync(`${root}/locks/held.json`),
    untouched() {
      assertEquals(Deno.readTextFileSync(sentinel), "precious data\n", "the sentinel is intact");
      assertEquals(Deno.statSync(sentinel).mtime?.getTime(), HOUR_AGO.getTime());
    },
  };
}

Deno.test("a plain file in place of the locks directory: every command says so, nothing is lost", async () => {
  using dir = tempDir("lokt-fault-");
  const { root, env } = await setUp(dir.path);
  const auditBefore = Deno.readTextFileSync(`${root}/audit.log`);
  Deno.removeSync(`${root}/locks`, { recursive: true });
  Deno.writeTextFileSync(`${root}/locks`, "someone's notes\n");

  for (
    const args of [["lock", "x"], ["unlock", "held", "--force"], ["status"], ["exists", "held"]]
  ) {
    const result = await lokt(args, { env });
    assertEquals(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
    assertCleanError(result, /Not a directory \(os error 20\)/);
    assertMatch(result.stderr, /^hint: a file stands where lokt expects a directory/m);
  }
  assertEquals(Deno.readTextFileSync(`${root}/locks`), "someone's notes\n", "the file is kept");
  assertEquals(Deno.readTextFileSync(`${root}/audit.log`), auditBefore);
});

Deno.test("a plain file in place of tmp/: a new lock fails clearly and the held one stays", async () => {
  using dir = tempDir("lokt-fault-");
  const { root, env, held } = await setUp(dir.path);
  Deno.removeSync(`${root}/tmp`, { recursive: true });
  Deno.writeTextFileSync(`${root}/tmp`, "");
  const result = await lokt(["lock", "x"], { env });
  assertEquals(result.code, 1, result.stderr);
  assertCleanError(result, /^error: cannot create a file in .*\/tmp: Not a directory/m);
  assertEquals(Deno.readTextFileSync(`${root}/locks/held.json`), held);
  assertEquals([...Deno.readDirSync(`${root}/locks`)].map((e) => e.name), ["held.json"]);
});

Deno.test("a lock file that is a link is refused, its target never read; removing the link frees the name", async () => {
  using dir = tempDir("lokt-fault-");
  const { root, env, sentinel, untouched } = await setUp(dir.path);
  const planted = `${root}/locks/evil.json`;
  Deno.symlinkSync(sentinel, planted);
  const refusal = new RegExp(
    `^error: ${planted} is a symbolic link; lokt does not follow links`,
    "m",
  );

  const status = await lokt(["status"], { env });
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stdout, /^evil\s+UNREADABLE\s.*evil\.json is a symbolic link/m);
  for (const args of [["lock", "evil"], ["unlock", "evil", "--force"], ["exists", "evil"]]) {
    const result = await lokt(args, { env });
    assertEquals(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
    assertCleanError(result, refusal);
    assertMatch(result.stderr, new RegExp(`^hint: remove the link \\(\`rm ${planted}\`\\)`, "m"));
  }
  untouched();
  assert(Deno.lstatSync(planted).isSymlink, "lokt leaves the link for its owner to remove");

  Deno.removeSync(planted);
  const took = await lokt(["lock", "evil", "--ttl", "1m"], { env });
  assertEquals(took.code, 0, took.stderr);
  untouched();
  assertEquals(auditEvents(root).map((e) => e.event), ["acquire", "acquire"]);
});

Deno.test("a fence file that is a link is refused: nothing is written or created outside the root", async () => {
  using dir = tempDir("lokt-fault-");
  const { root, env, sentinel, untouched } = await setUp(dir.path);
  Deno.symlinkSync(sentinel, `${root}/fences/evil`);
  const missing = `${dir.path}/would-be-created`;
  Deno.symlinkSync(missing, `${root}/fences/ghost`);

  for (const name of ["evil", "ghost"]) {
    for (const args of [["lock", name], ["unlock", name, "--force"]]) {
      const result = await lokt(args, { env });
      assertEquals(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
      assertCleanError(
        result,
        new RegExp(`^error: .*/fences/${name} is a symbolic link; lokt does not follow links`, "m"),
      );
      assertMatch(result.stderr, /^hint: remove the link/m);
    }
  }
  untouched();
  assert(!existsNoFollow(missing), "the link's missing target was not created");
  assertEquals([...Deno.readDirSync(`${root}/locks`)].map((e) => e.name), ["held.json"]);
});

Deno.test("a directory where a lock file belongs blocks the name, then is cleared like other junk", async () => {
  using dir = tempDir("lokt-fault-");
  const { root, env } = await setUp(dir.path);
  const inTheWay = `${root}/locks/box.json`;
  Deno.mkdirSync(`${inTheWay}/inside`, { recursive: true });
  Deno.utimeSync(inTheWay, HOUR_AGO, HOUR_AGO);

  const full = await lokt(["lock", "box"], { env });
  assertEquals(full.code, 1, full.stderr);
  assertCleanError(full, /^error: cannot remove .*\/locks\/box\.json: Directory not empty/m);
  assertMatch(full.stderr, /^hint: a directory stands where lokt expects a file/m);
  assert(Deno.statSync(`${inTheWay}/inside`).isDirectory, "what is inside it is kept");

  Deno.removeSync(`${inTheWay}/inside`);
  Deno.utimeSync(inTheWay, HOUR_AGO, HOUR_AGO);
  const took = await lokt(["lock", "box"], { env });
  assertEquals(took.code, 0, took.stderr);
  assertMatch(took.stdout, /replaced an unreadable lock file \(it is a directory, not a file\)/);
});

function existsNoFollow(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
