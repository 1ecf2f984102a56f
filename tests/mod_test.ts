/** The library API (`mod.ts`): acquire, release, withLock, status, on real files. */

import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { auditEvents, lokt, readLines, tempDir } from "./helpers/cli.ts";
import {
  acquire,
  LockHeldError,
  LoktError,
  release,
  SlotsMismatchError,
  status,
  withLock,
} from "../mod.ts";

Deno.test("acquire holds a name for this process until the handle releases it", async () => {
  using dir = tempDir();
  const lock = await acquire("build", { root: dir.path, ttl: "5m" });
  assert(lock.fence >= 1);
  await assertRejects(acquire("build", { root: dir.path }), LockHeldError);
  const listed = status({ root: dir.path });
  assertEquals(listed.map((s) => [s.name, s.state, s.reason]), [["build", "live", "guard-alive"]]);
  assertEquals(await lock.release(), true);
  assertEquals(status({ root: dir.path }), []);
  const again = await acquire("build", { root: dir.path });
  assert(again.fence > lock.fence, "a new acquisition gets a larger fence");
  await again.release();
});

Deno.test("withLock releases however the function ends, and await using releases at scope end", async () => {
  using dir = tempDir();
  assertEquals(await withLock("db", { root: dir.path }, (lock) => lock.name), "db");
  const boom = await assertRejects(
    withLock("db", { root: dir.path }, () => Promise.reject(new Error("boom"))),
    Error,
  );
  assertEquals(boom.message, "boom");
  assertEquals(status({ root: dir.path }), [], "released after a throw");
  {
    await using _lock = await acquire("db", { root: dir.path });
    assertEquals(status({ root: dir.path }).length, 1);
  }
  assertEquals(status({ root: dir.path }), []);
});

Deno.test("withLock with slots lets that many holders in, each on its own slot, and renews and releases each", async () => {
  using dir = tempDir();
  const root = dir.path;
  const a = await acquire("pool", { root, slots: 2, ttl: "1m" });
  const slots = await withLock("pool", { root, slots: 2 }, async (b) => {
    const full = await assertRejects(acquire("pool", { root, slots: 2 }), LockHeldError);
    assertMatch(full.message, /all 2 slots/);
    const mixed = await assertRejects(acquire("pool", { root }), SlotsMismatchError);
    assertEquals([mixed.currentSlots, mixed.requestedSlots], [2, 1]);
    const zero = await assertRejects(acquire("pool", { root, slots: 0 }), LoktError);
    assertEquals(zero.code, "usage");
    return [a.slot, b.slot, b.slots, b.fence > a.fence];
  });
  assertEquals(slots, [1, 2, 2, true]);
  assertEquals(status({ root }).map((s) => [s.name, s.slot, s.state]), [["pool", 1, "live"]]);
  assertEquals(await a.release(), true);
  assertEquals(status({ root }), []);
  const plain = await acquire("pool", { root });
  assertEquals([plain.slot, plain.slots], [1, 1], "idle: the number of slots may change");
  await plain.release();
});

Deno.test("release breaks only stale locks with break-stale, any lock with force; the holder learns it lost", async () => {
  using dir = tempDir();
  let lost = "";
  const lock = await acquire("deploy", {
    root: dir.path,
    ttl: 600,
    onLost: (name) => (lost = name),
  });
  const refused = await release("deploy", { root: dir.path, mode: "break-stale" });
  assertEquals(refused.kind, "not-stale");
  assertEquals((await release("deploy", { root: dir.path, mode: "force" })).kind, "removed");
  assertEquals((await release("deploy", { root: dir.path, mode: "force" })).kind, "not-found");
  const deadline = Date.now() + 5_000;
  while (lost === "" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assertEquals(lost, "deploy", "onLost is called at the next renewal");
  assertEquals(await lock.release(), false, "a lost lock reports false on release");
});

/** Runs the lease fixture holding `x` under `root`; its output arrives line by line. */
function startHolder(root: string) {
  const go = `${root}.go`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./mod_lease_fixture.ts", import.meta.url).pathname, root, go],
    env: { LOKT_NO_DETECT: "1", LOKT_AGENT_ID: "library", LOKT_OWNER: "tester" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { lines: timed, done: stdout } = readLines(child.stdout);
  const lines = () => timed.map((l) => l.line);
  const stderr = new Response(child.stderr).text();
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => (exited = s));
  return {
    get lines() {
      return lines();
    },
    /** Waits until a line matches, failing at once if the process ends first. */
    async line(pattern: RegExp): Promise<string> {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const found = lines().find((l) => pattern.test(l));
        if (found !== undefined) return found;
        if (exited !== undefined || Date.now() > deadline) {
          await stdout;
          throw new Error(
            `no line ${pattern} (exit ${exited?.code}):\n${lines().join("\n")}\n${await stderr}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async finish(): Promise<{ code: number; stderr: string }> {
      Deno.writeTextFileSync(go, "");
      await stdout;
      return { code: (await status).code, stderr: await stderr };
    },
  };
}

Deno.test("a renewal that fails (fences/x replaced by a directory) reaches onError and the audit log; the process lives on", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const holder = startHolder(root);
  await holder.line(/^held 1$/);
  const fence = `${root}/fences/x`;
  Deno.removeSync(fence);
  Deno.mkdirSync(fence);
  const error = await holder.line(/^error /);
  assertMatch(error, /^error io: cannot open .*fences\/x: Is a directory/);
  Deno.removeSync(fence);
  const done = await holder.finish();
  assertEquals(done.code, 0, done.stderr);
  assertEquals(holder.lines.at(-1), "released true", "the lock was still held");
  assertEquals(holder.lines.filter((l) => l.startsWith("lost")), []);
  const failed = auditEvents(root).filter((e) => e.event === "renew-error");
  assertEquals(failed.length, 1, "one line for a run of failed renewals");
  assertEquals(failed[0].name, "x");
  assertMatch(String((failed[0].extra as Record<string, unknown>).error), /Is a directory/);
});

Deno.test("renewals never overlap: while one waits for the name's kernel lock, no other starts", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const holder = startHolder(root);
  await holder.line(/^held 1$/);
  // Hold the name's kernel lock for ten renewal periods, as a slow process would.
  const mutex = Deno.openSync(`${root}/fences/x`, { read: true, write: true });
  await mutex.lock(true);
  const blockedAt = Date.now();
  await new Promise((r) => setTimeout(r, 1_500));
  mutex.close();
  const done = await holder.finish();
  assertEquals(done.code, 0, done.stderr);
  const renewals = auditEvents(root).filter((e) => e.event === "renew")
    .map((e) => Date.parse(String(e.ts)))
    .filter((ts) => ts >= blockedAt);
  assert(renewals.length >= 1, "it renewed once the kernel lock was free");
  for (let i = 1; i < renewals.length; i++) {
    assert(
      renewals[i] - renewals[i - 1] >= 75,
      `renewals ${renewals[i] - renewals[i - 1]} ms apart`,
    );
  }
});

Deno.test("an aborted wait says what aborted it, rather than a signal that never came", async () => {
  using dir = tempDir();
  const held = await acquire("x", { root: dir.path });
  const controller = new AbortController();
  const waiting = acquire("x", { root: dir.path, wait: true, signal: controller.signal });
  setTimeout(() => controller.abort(new Error("shutting down")), 50);
  const aborted = await assertRejects(waiting, LoktError);
  assertEquals([aborted.code, aborted.message], ["interrupted", "aborted: shutting down"]);
  assertEquals((aborted.cause as Error).message, "shutting down");
  const timedOut = await assertRejects(
    acquire("x", { root: dir.path, wait: true, signal: AbortSignal.timeout(50) }),
    LoktError,
  );
  assertEquals(timedOut.code, "interrupted");
  assertEquals((timedOut.cause as DOMException).name, "TimeoutError");
  assertMatch(timedOut.message, /^aborted: /);
  assert(!/SIGINT/.test(timedOut.message));
  await held.release();
});

Deno.test("the library resolves owner and agent id as the CLI does", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    LOKT_ROOT: root,
    LOGNAME: "logan", // no USER, no LOKT_OWNER
    CODEX_THREAD_ID: "thread-7",
  };
  const program = `import { acquire } from "${new URL("../mod.ts", import.meta.url).href}";
    const lock = await acquire("x");
    const record = JSON.parse(Deno.readTextFileSync(Deno.env.get("LOKT_ROOT") + "/locks/x.json"));
    console.log(JSON.stringify([record.owner, record.agent_id]));
    await lock.release();`;
  const library = await new Deno.Command(Deno.execPath(), {
    args: ["eval", program],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assertEquals(library.code, 0, decoder.decode(library.stderr));
  const cli = await lokt(["status", "--json"], { env });
  assertEquals(cli.code, 0, cli.stderr);
  const { identity } = JSON.parse(cli.stdout);
  assertEquals([identity.owner, identity.agent_id], ["logan", "codex:thread-7"]);
  assertEquals(JSON.parse(decoder.decode(library.stdout)), [identity.owner, identity.agent_id]);
  const events = auditEvents(root).map((e) => [e.event, e.owner, e.agent_id]);
  assertEquals(events, [
    ["acquire", "logan", "codex:thread-7"],
    ["release", "logan", "codex:thread-7"],
  ]);
});

Deno.test("an audit line that cannot be written reaches onError, else console.warn; the lock works all the same", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/audit.log`, { recursive: true }); // no line can be appended
  const errors: LoktError[] = [];
  const lock = await acquire("x", { root: dir.path, onError: (error) => errors.push(error) });
  assertEquals(status({ root: dir.path }).map((s) => s.name), ["x"]);
  assertEquals(await lock.release(), true);
  assertEquals(errors.map((e) => e.code), ["io"], "said once");
  assertMatch(errors[0].message, /^could not write the audit log .*audit\.log: /);

  const warned: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warned.push(args.join(" "));
  try {
    await withLock("x", { root: dir.path }, () => {});
    const broken = await release("x", { root: dir.path, mode: "force" });
    assertEquals(broken.kind, "not-found");
  } finally {
    console.warn = warn;
  }
  assertEquals(warned.length, 1, String(warned));
  assertMatch(String(warned[0]), /^lokt: warning: could not write the audit log /);
});
