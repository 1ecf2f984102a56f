/**
 * `--wait`: woken by the backend (file-system events or notifications) or by polling, FIFO
 * tickets, timeouts, signals, and waiters and holders that are stopped or SIGKILLed. Every case
 * but polling without file-system events (a file backend's fallback) runs on every backend
 * (`backendTest`).
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { backendTest, eventually } from "../helpers/backends.ts";
import { finish, lokt, MAIN, readLines, startLokt, until } from "../helpers/cli.ts";

for (const watch of [true, false]) {
  // Polling without file-system events is the file backend's fallback; a shared backend wakes
  // its waiters by its own notifications.
  const how = watch ? "woken by the backend" : "with file-system events off (polling)";
  backendTest(`a waiter gets the lock as soon as it is released, ${how}`, async (place) => {
    const a = place.env("a");
    assertEquals((await lokt(["lock", "x"], { env: a })).code, 0);
    const b = place.env("b", watch ? {} : { LOKT_NO_WATCH: "1" });
    const waiter = startLokt(["lock", "x", "--wait", "--json"], b);
    await eventually("the waiter's ticket", async () => await place.tickets("x") === 1);
    assertEquals((await lokt(["unlock", "x"], { env: a })).code, 0);
    const r = await finish(waiter);
    assertEquals(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assertEquals(json.status, "acquired");
    assertEquals(json.lock.agent_id, "b");
    assertMatch(r.stderr, /waiting: lock "x" held by tester@/);
    assertEquals(await place.tickets("x"), 0, "the ticket is removed once the lock is held");
  }, { only: watch ? undefined : ["files"] });
}

backendTest("a waiter takes over a lock whose TTL runs out while it waits", async (place) => {
  assertEquals((await lokt(["lock", "x", "--ttl", "1s"], { env: place.env("a") })).code, 0);
  const r = await lokt(["lock", "x", "--wait", "--quiet"], { env: place.env("b") });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /took over a stale lock .*expired/);
  assertEquals(r.stderr, "", "--quiet prints no progress");
});

backendTest(
  "--timeout exits 2 naming the holder, records one deny and the timeout, leaves no ticket",
  async (place) => {
    assertEquals((await lokt(["lock", "x"], { env: place.env("a") })).code, 0);
    const r = await lokt(["lock", "x", "--wait", "--timeout", "700ms"], { env: place.env("b") });
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /held by tester@.*\(agent a\)/);
    assertEquals(await place.tickets("x"), 0);
    const mine = (await place.events()).filter((e) => e.agent_id === "b");
    assertEquals(mine.map((e) => e.event), ["wait", "timeout"], "one deny per wait, not per poll");
  },
);

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  backendTest(`${signal} while waiting exits ${code} and leaves nothing behind`, async (place) => {
    const a = place.env("a");
    assertEquals((await lokt(["lock", "x"], { env: a })).code, 0);
    const before = await place.holder("x");
    const waiter = startLokt(["guard", "x", "--wait", "--", "echo", "ran"], place.env("b"));
    await eventually("the waiter's ticket", async () => await place.tickets("x") === 1);
    waiter.kill(signal);
    const r = await finish(waiter);
    assertEquals(r.code, code, r.stderr);
    assertEquals(r.stdout, "", "the command never ran");
    assertEquals(await place.tickets("x"), 0, "no ticket left");
    assertEquals(await place.holder("x"), before, "the lock is untouched");
    if (place.backend === "files") {
      assert([...Deno.readDirSync(`${place.root}/tmp`)].length === 0, "no temporary file left");
    }
  });
}

/**
 * Stops `pid` (SIGSTOP) at a moment it holds no kernel lock of the root's: stopped inside a name's
 * critical section, it would block that name until it resumed (a limit of the protocol,
 * docs/protocol.md), and the test would hang instead of testing the queue. Linux: `/proc/locks`
 * names each lock's holder and file (by inode); Deno's own cache locks are not the root's.
 */
async function stopOutsideKernelLocks(pid: number, root: string): Promise<void> {
  const inodes = () => {
    const found = new Set<string>();
    for (const entry of Deno.readDirSync(`${root}/fences`)) {
      found.add(String(Deno.statSync(`${root}/fences/${entry.name}`).ino));
    }
    return found;
  };
  for (let attempt = 0; attempt < 200; attempt++) {
    Deno.kill(pid, "SIGSTOP");
    const ours = inodes();
    const holds = Deno.readTextFileSync("/proc/locks").split("\n").some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[4] === String(pid) && ours.has(fields[5]?.split(":")[2] ?? "");
    });
    if (!holds) return;
    Deno.kill(pid, "SIGCONT");
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${pid} never stopped outside a kernel lock`);
}

backendTest(
  "a waiter behind a stopped (suspended) waiter passes it once its heartbeat is stale",
  async (place) => {
    const a = place.env("a");
    assertEquals((await lokt(["lock", "x"], { env: a })).code, 0);
    const stopped = startLokt(["lock", "x", "--wait", "--quiet"], place.env("b"));
    await eventually("b's ticket", async () => await place.tickets("x") === 1);
    const behind = startLokt(["lock", "x", "--wait", "--json"], place.env("c"));
    await eventually("c's ticket", async () => await place.tickets("x") === 2);
    if (place.backend === "files") await stopOutsideKernelLocks(stopped.pid, place.root);
    // On PostgreSQL a waiter stopped inside a name's transaction keeps its advisory lock until
    // the server ends the idle transaction (5 s), which the bound below allows for.
    else Deno.kill(stopped.pid, "SIGSTOP");
    const done = new Set<Deno.ChildProcess>();
    try {
      assertEquals((await lokt(["unlock", "x"], { env: a })).code, 0);
      // c waits behind b until b's heartbeat is older than the stall time (5 s); then c's look
      // passes b over.
      await eventually(
        "c to hold the lock",
        async () => (await place.holder("x"))?.agentId === "c",
        20_000,
      );
      const r = await finish(behind);
      done.add(behind);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(r.stdout).lock.agent_id, "c");
      assertEquals(await place.tickets("x"), 1, "b's ticket stays: b is alive, only suspended");
    } finally {
      for (const child of [stopped, behind]) {
        if (done.has(child)) continue;
        try {
          child.kill("SIGKILL");
        } catch {
          // it has exited
        }
        await finish(child);
      }
    }
  },
  { ignore: Deno.build.os !== "linux" }, // stopping outside a kernel lock reads /proc/locks
);

/** Starts `lokt ...args` with stdout discarded, and collects its stderr lines with their arrival times. */
function startTimed(args: string[], env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return { child, lines: readLines(child.stderr).done };
}

backendTest(
  "three guards waiting through three hand-offs print one line each at the start, the command cut to about 60 characters",
  async (place) => {
    const go = `${place.dir}/go`;
    const long = "x".repeat(200);
    const holder = startTimed(
      ["guard", "push", "--", "sh", "-c", `while [ ! -e ${go} ]; do sleep 0.02; done # ${long}`],
      place.env("holder"),
    );
    await eventually("the holder's lock", () => place.holder("push"));
    const guards = ["a", "b", "c"].map((agent) =>
      startTimed(
        ["guard", "push", "--wait", "--", "sh", "-c", `sleep 0.1 # ${agent} ${long}`],
        place.env(agent),
      )
    );
    await eventually("three waiters' tickets", async () => await place.tickets("push") === 3);
    Deno.writeTextFileSync(go, "");
    assertEquals((await holder.child.status).code, 0);
    let total = 0;
    for (const guard of guards) {
      assertEquals((await guard.child.status).code, 0);
      const lines = await guard.lines;
      const text = lines.map((l) => l.line).join("\n");
      assertMatch(lines[0]?.line ?? "", /^lokt: waiting: lock "push" held by /, text);
      for (const { line } of lines) {
        assertMatch(line, /^lokt: (still )?waiting/, text);
        const command = line.match(/running `([^`]*)`/)?.[1] ?? "";
        assert(command.length <= 60, `a command of ${command.length} characters: ${line}`);
      }
      // A later line is due only 30 s on, or 5 s on when the holder changed; the hand-offs here
      // take a fraction of that.
      for (let i = 1; i < lines.length; i++) {
        const apartMs = lines[i].atMs - lines[i - 1].atMs;
        assert(apartMs >= 4_000, `two lines ${Math.round(apartMs)} ms apart:\n${text}`);
      }
      total += lines.length;
    }
    assert(total >= 3, `${total} lines`);
  },
);

backendTest(
  "five guards waiting in turn get the lock in the order they queued, fences growing",
  async (place) => {
    const order = `${place.dir}/order`;
    const a = place.env("a");
    assertEquals((await lokt(["lock", "x"], { env: a })).code, 0);
    const agents = ["w1", "w2", "w3", "w4", "w5"];
    const waiters: Deno.ChildProcess[] = [];
    for (const [i, agent] of agents.entries()) {
      waiters.push(startLokt(
        [
          "guard",
          "x",
          "--wait",
          "--quiet",
          "--",
          "sh",
          "-c",
          `echo "$LOKT_FENCE ${agent}" >> ${order}`,
        ],
        place.env(agent),
      ));
      // The next one starts only once this one queues: the order they queued in is known.
      await eventually(`ticket ${i + 1}`, async () => await place.tickets("x") === i + 1);
    }
    const jumper = await lokt(["lock", "x"], { env: place.env("late") });
    assertEquals(jumper.code, 2, "a newcomer without --wait does not pass the queue");
    assertEquals((await lokt(["unlock", "x"], { env: a })).code, 0);
    for (const waiter of waiters) {
      const r = await finish(waiter);
      assertEquals(r.code, 0, r.stderr);
    }
    const lines = Deno.readTextFileSync(order).trim().split("\n");
    assertEquals(lines, agents.map((agent, i) => `${i + 2} ${agent}`));
    assertEquals(await place.tickets("x"), 0);
    assertEquals(await place.holder("x"), undefined);
  },
);

backendTest(
  "a SIGKILLed guard --wait leaves no ticket that blocks the waiters behind it",
  async (place) => {
    const a = place.env("a");
    assertEquals((await lokt(["lock", "x"], { env: a })).code, 0);
    const killed = startLokt(["guard", "x", "--wait", "--", "echo", "ran"], place.env("killed"));
    await eventually("the first waiter's ticket", async () => await place.tickets("x") === 1);
    const behind = startLokt(["lock", "x", "--wait", "--json", "--quiet"], place.env("behind"));
    await eventually("the second waiter's ticket", async () => await place.tickets("x") === 2);
    killed.kill("SIGKILL");
    const k = await finish(killed);
    assertEquals(k.stdout, "", "the killed waiter's command never ran");
    assertEquals((await lokt(["unlock", "x"], { env: a })).code, 0);
    // Bounded, not timed: the dead waiter's ticket is passed over (its process is gone, or its
    // heartbeat stops), so the waiter behind it gets the lock.
    const r = await finish(behind);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).lock.agent_id, "behind");
    await eventually("no ticket left", async () => await place.tickets("x") === 0);
  },
);

backendTest(
  "a SIGKILLed holder of a lock with a TTL is taken over once the TTL runs out",
  async (place) => {
    const inner = `${Deno.execPath()} run -A ${MAIN}`;
    const ready = `${place.dir}/ready`;
    // The holder is a shell that took the lock and goes on living, until it is killed.
    const holder = new Deno.Command("sh", {
      args: ["-c", `${inner} lock x --ttl 1s && touch ${ready} && exec sleep 600`],
      env: place.env("a"),
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await until("the holder's lock", () => {
        try {
          return Deno.statSync(ready).isFile;
        } catch {
          return false;
        }
      });
      holder.kill("SIGKILL");
      await holder.status;
      const took = await lokt(["lock", "x", "--wait", "--json", "--quiet"], {
        env: place.env("b"),
      });
      assertEquals(took.code, 0, took.stderr);
      const out = JSON.parse(took.stdout);
      assertEquals([out.status, out.fence, out.lock.agent_id], ["acquired", 2, "b"]);
      assertEquals([out.replaced.kind, out.replaced.reason], ["stale", "expired"]);
      const events = (await place.events()).map((e) => `${e.event}:${e.agent_id}`);
      assertEquals(events.filter((e) => /^(acquire|auto-prune)/.test(e)), [
        "acquire:a",
        "auto-prune:b",
        "acquire:b",
      ]);
    } finally {
      try {
        holder.kill("SIGKILL");
      } catch { /* already dead */ }
    }
  },
);
