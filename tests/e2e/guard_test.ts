/**
 * `lokt guard` end to end: exit status pass-through, the child's environment, nesting, renewal,
 * loss of the lock, signals, and a guard killed while its command runs. Every case but the one
 * that breaks a lock file runs on every backend (`backendTest`).
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { backendTest, eventually, type Place } from "../helpers/backends.ts";
import {
  auditEvents,
  finish,
  holderEnv,
  lokt,
  MAIN,
  startLokt,
  tempDir,
  until,
} from "../helpers/cli.ts";

function readLock(root: string, name: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${root}/locks/${name}.json`));
  } catch {
    return undefined;
  }
}

function existsFile(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** The lock's recorded command pid, once the guard has recorded it. */
function childPid(root: string, name: string): number | undefined {
  const pid = readLock(root, name)?.child_pid;
  return typeof pid === "number" && pid > 0 ? pid : undefined;
}

/** The pid of the command of `name`'s holder, once its guard has recorded it. */
async function commandPid(place: Place, name: string): Promise<number | undefined> {
  const pid = (await place.holder(name))?.child?.pid;
  return pid !== undefined && pid > 0 ? pid : undefined;
}

backendTest("guard passes its command's exit status through", async (place) => {
  const env = place.env("a");
  const notExecutable = `${place.dir}/data.txt`;
  Deno.writeTextFileSync(notExecutable, "not a program\n");
  const table: [string[], number][] = [
    [["true"], 0],
    [["false"], 1],
    [["sh", "-c", "exit 7"], 7],
    [["lokt-no-such-command"], 127],
    [[notExecutable], 126],
    [["sh", "-c", "kill -TERM $$"], 143],
    [["sh", "-c", "kill -KILL $$"], 137],
    [["sh", "-c", "kill -INT $$"], 130],
  ];
  for (const [command, expected] of table) {
    const r = await lokt(["guard", "x", "--", ...command], { env });
    assertEquals(r.code, expected, `${command.join(" ")}: ${r.stderr}`);
    assertEquals(await place.holder("x"), undefined, `lock left behind after ${command[0]}`);
  }
  const missing = await lokt(["guard", "x", "--", "lokt-no-such-command"], { env });
  assertMatch(missing.stderr, /command not found: lokt-no-such-command/);
});

backendTest("guard gives its command the lock's name, id, root and fence", async (place) => {
  const env = place.env("a");
  const r = await lokt([
    "guard",
    "x",
    "--",
    "sh",
    "-c",
    'echo "$LOKT_LOCK_NAME $LOKT_LOCK_ID $LOKT_LOCK_ROOT $LOKT_FENCE"',
  ], { env });
  assertEquals(r.code, 0, r.stderr);
  const acquire = (await place.events()).find((e) => e.event === "acquire")!;
  // By design: LOKT_LOCK_ROOT names where the locks are files; a shared backend has no root,
  // and a guarded command there sees it unset.
  const root = place.backend === "files" ? place.root : "";
  assertEquals(r.stdout, `x ${acquire.lock_id} ${root} ${acquire.fence}\n`);
});

backendTest("a lokt on the same name inside the guarded command passes through", async (place) => {
  const env = place.env("a");
  const inner = `${Deno.execPath()} run -A ${MAIN}`;
  const r = await lokt([
    "guard",
    "x",
    "--",
    "sh",
    "-c",
    `${inner} guard x -- echo inner-guard && ${inner} lock x && ${inner} unlock x && echo done`,
  ], { env });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /inner-guard/);
  assertMatch(r.stdout, /done/);
  assertEquals(await place.holder("x"), undefined);
  const acquires = (await place.events()).filter((e) => e.event === "acquire");
  assertEquals(acquires.length, 1, "the inner commands must not take the lock again");
});

backendTest(
  "guard refuses a held lock with exit 2, or N with --conflict-exit-code N",
  async (place) => {
    assertEquals((await lokt(["lock", "x"], { env: place.env("a") })).code, 0);
    const b = place.env("b");
    const held = await lokt(["guard", "x", "--", "echo", "ran"], { env: b });
    assertEquals(held.code, 2);
    assertEquals(held.stdout, "");
    assertMatch(held.stderr, /lock "x" held by tester@/);
    const custom = await lokt(["guard", "x", "--conflict-exit-code", "99", "--", "true"], {
      env: b,
    });
    assertEquals(custom.code, 99);
    const timedOut = await lokt(
      ["guard", "x", "-E", "98", "--wait", "--timeout", "200ms", "--quiet", "--", "true"],
      { env: b },
    );
    assertEquals(timedOut.code, 98);
    const usage = await lokt(["guard", "x"], { env: b });
    assertEquals(usage.code, 64);
    assertMatch(usage.stderr, /missing the command/);
  },
);

backendTest(
  "a contender is told which guard and command hold the name, and for how long",
  async (place) => {
    const guard = startLokt(["guard", "x", "--", "sleep", "30"], place.env("a"));
    try {
      const pid = await eventually("the command to start", () => commandPid(place, "x"));
      const denied = await lokt(["lock", "x"], { env: place.env("b") });
      assertEquals(denied.code, 2, denied.stderr);
      const held =
        `lock "x" held by tester@${Deno.hostname()} \\(agent a, guard pid ${guard.pid}, ` +
        `command pid ${pid}\\) for [\\d.]+m?s running \`sleep 30\``;
      // By design: a guard without --ttl holds a file lock as long as its process lives, and a
      // shared backend's as long as its lease (30 s, renewed), which the message shows.
      const expiry = place.backend === "files" ? "" : ", expires in (29|30)(\\.\\d)?s";
      assertMatch(denied.stderr, new RegExp(`^error: ${held}${expiry}\n`));
    } finally {
      guard.kill("SIGTERM");
      await finish(guard);
    }
  },
);

backendTest(
  "a short TTL never runs out while the command runs; contenders are denied",
  async (place) => {
    const guard = startLokt(["guard", "x", "--ttl", "1s", "--", "sleep", "3.5"], place.env("a"));
    await eventually("the command to start", () => commandPid(place, "x"));
    const b = place.env("b");
    const expiries: number[] = [];
    while (await commandPid(place, "x") !== undefined) {
      const lock = await place.holder("x");
      if (lock === undefined) break;
      const expires = lock.expiresMs!;
      if (expiries.at(-1) !== expires) expiries.push(expires);
      const contender = await lokt(["lock", "x"], { env: b });
      if (contender.code === 0) {
        // Allowed only if the guard had released by then (its command ended meanwhile).
        const released = (await place.events()).some((e) =>
          e.event === "release" && e.lock_id === lock.lockId
        );
        assert(released, `contender got in while the guard held: ${contender.stdout}`);
        break;
      }
      assertEquals(contender.code, 2, contender.stderr);
      await new Promise((r) => setTimeout(r, 150));
    }
    const r = await finish(guard);
    assertEquals(r.code, 0, r.stderr);
    assert(expiries.length >= 3, `expires_at advanced only ${expiries.length - 1} time(s)`);
    for (let i = 1; i < expiries.length; i++) assert(expiries[i] > expiries[i - 1]);
    assert((await place.events()).filter((e) => e.event === "renew").length >= 3);
  },
);

backendTest(
  "a lock broken by --force is noticed: lost recorded, command stopped, exit 75",
  async (place) => {
    const guard = startLokt(["guard", "x", "--", "sleep", "30"], place.env("a"));
    const pid = await eventually("the command to start", () => commandPid(place, "x"));
    const broke = await lokt(["unlock", "x", "--force"], { env: place.env("b") });
    assertEquals(broke.code, 0, broke.stderr);
    const r = await finish(guard);
    assertEquals(r.code, 75);
    assertMatch(r.stderr, /lock "x" was lost while the command ran.*stopping the command/);
    assertEquals(alive(pid), false, "the command must be stopped");
    const lost = (await place.events()).filter((e) => e.event === "lost");
    assertEquals(lost.length, 1);
    assertEquals((lost[0].extra as Record<string, unknown>).action, "stop");
  },
);

backendTest(
  "a command that ignores TERM after its lock was lost is killed once the grace period ends",
  async (place) => {
    const ready = `${place.dir}/ready`;
    // exec: the guard's child is the shell that ignores TERM, and sleep inherits the ignore.
    const guard = startLokt(
      ["guard", "x", "--", "sh", "-c", `trap '' TERM; touch ${ready}; exec sleep 600`],
      place.env("a"),
    );
    const pid = await eventually("the command to start", () => commandPid(place, "x"));
    await until("the command to ignore TERM", () => existsFile(ready));
    assertEquals((await lokt(["unlock", "x", "--force"], { env: place.env("b") })).code, 0);
    // The grace period is 5 s; a guard still there after 120 s never sent KILL.
    let hung: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      finish(guard),
      new Promise<never>((_, reject) => {
        hung = setTimeout(() => {
          Deno.kill(pid, "SIGKILL");
          reject(new Error("the guard never killed its command"));
        }, 120_000);
      }),
    ]).finally(() => clearTimeout(hung));
    assertEquals(r.code, 75, r.stderr);
    assertMatch(r.stderr, /stopping the command/);
    assertEquals(alive(pid), false, "KILL must follow the ignored TERM");
  },
);

Deno.test("renewals that fail (fences/x replaced by a directory) are said and audited once, and the guard carries on", async () => {
  using dir = tempDir();
  const go = `${dir.path}/go`;
  const guard = startLokt(
    ["guard", "x", "--ttl", "400ms", "--", "sh", "-c", `while [ ! -e ${go} ]; do sleep 0.02; done`],
    holderEnv(dir.path, "a"),
  );
  await until("the command to start", () => childPid(dir.path, "x"));
  const fence = `${dir.path}/fences/x`;
  Deno.removeSync(fence);
  Deno.mkdirSync(fence);
  await until(
    "a renew-error line",
    () => auditEvents(dir.path).some((e) => e.event === "renew-error"),
  );
  await new Promise((r) => setTimeout(r, 1_000)); // several more failed renewals
  Deno.removeSync(fence);
  Deno.writeTextFileSync(go, "");
  const r = await finish(guard);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr.match(/could not check or renew the lock/g)?.length, 1, r.stderr);
  const failed = auditEvents(dir.path).filter((e) => e.event === "renew-error");
  assertEquals(failed.length, 1);
  assertMatch(String((failed[0].extra as Record<string, unknown>).error), /Is a directory/);
  assertEquals(readLock(dir.path, "x"), undefined, "released at the end");
});

backendTest("with --on-lost keep the command finishes after the lock is lost", async (place) => {
  const guard = startLokt(
    ["guard", "x", "--on-lost", "keep", "--", "sh", "-c", "sleep 1.5; echo finished"],
    place.env("a"),
  );
  await eventually("the command to start", () => commandPid(place, "x"));
  assertEquals((await lokt(["unlock", "x", "--force"], { env: place.env("b") })).code, 0);
  const r = await finish(guard);
  assertEquals(r.code, 75);
  assertMatch(r.stdout, /finished/);
  assertMatch(r.stderr, /letting it finish/);
});

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130], ["SIGHUP", 129]] as const) {
  backendTest(
    `${signal} to guard reaches the command, releases the lock, exits ${code}`,
    async (place) => {
      const guard = startLokt(["guard", "x", "--ttl", "1h", "--", "sleep", "30"], place.env("a"));
      const pid = await eventually("the command to start", () => commandPid(place, "x"));
      guard.kill(signal);
      const r = await finish(guard);
      assertEquals(r.code, code, r.stderr);
      assertEquals(alive(pid), false, "the command must have received the signal");
      assertEquals(await place.holder("x"), undefined, "the lock must be released");
      assert((await place.events()).some((e) => e.event === "release"));
    },
  );
}

backendTest(
  "a SIGKILLed guard's command keeps the lock until it ends; then it is taken at once",
  async (place) => {
    const done = `${place.dir}/done`;
    const guard = startLokt(
      ["guard", "x", "--ttl", "1h", "--", "sh", "-c", `sleep 1.5; touch ${done}`],
      place.env("a"),
    );
    const pid = await eventually("the command to start", () => commandPid(place, "x"));
    guard.kill("SIGKILL");
    await guard.status;
    const b = place.env("b");
    const during = await lokt(["lock", "x"], { env: b });
    assertEquals(during.code, 2, "the running command still holds the lock");
    assertMatch(during.stderr, /held by/);
    await until("the command to end", () => !alive(pid) || undefined);
    assert(Deno.statSync(done).isFile);
    const after = await lokt(["lock", "x"], { env: b });
    assertEquals(after.code, 0, after.stderr);
    assertMatch(after.stdout, /took over a stale lock/);
  },
);
