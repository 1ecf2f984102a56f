/**
 * `lokt mcp` end to end: the SDK's own stdio client spawns the real entry point, as an agent tool
 * does, and the lock root is checked on disk and through the real CLI.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { dirNames, lokt, MAIN, tempDir } from "../helpers/cli.ts";
import { connect, eventually, serverEnv, type Session, textOf } from "./client.ts";
import { RUN_FLAG } from "../../src/run_flags.ts";

/** The SDK's client keeps child-process handles the sanitizers would count. */
function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

type Structured = Record<string, unknown>;

async function call(session: Session, name: string, args: Record<string, unknown> = {}) {
  const result = await session.client.callTool({ name, arguments: args });
  return {
    isError: result.isError === true,
    text: textOf(result),
    data: (result.structuredContent ?? {}) as Structured,
  };
}

function lockOf(data: Structured): Structured {
  return data.lock as Structured;
}

function lockFiles(root: string): string[] {
  return dirNames(`${root}/locks`);
}

/** Tickets waiting in the queue of `name`. */
function queued(root: string, name: string): string[] {
  return dirNames(`${root}/queue/${name}`);
}

test("mcp lists its seven tools, each with a schema and a description, and the status resource", async () => {
  using dir = tempDir();
  const s = await connect(serverEnv(`${dir.path}/.lokt`, "agent-a"));
  try {
    const { tools } = await s.client.listTools();
    assertEquals(tools.map((t) => t.name), [
      "acquire",
      "release",
      "release_all",
      "status",
      "why",
      "freeze",
      "unfreeze",
    ]);
    for (const tool of tools) {
      assertEquals(tool.inputSchema.type, "object", tool.name);
      assert((tool.description ?? "").length > 80, `${tool.name} explains itself to a model`);
    }
    const acquire = tools.find((t) => t.name === "acquire")!;
    assertEquals(acquire.inputSchema.required, ["name"]);
    assertEquals(Object.keys(acquire.inputSchema.properties ?? {}), [
      "name",
      "ttl",
      "wait",
      "timeout",
      "slots",
    ]);
    const { resources } = await s.client.listResources();
    assertEquals(resources.map((r) => r.uri), ["lokt://status"]);
    assertEquals(s.client.getServerVersion()?.name, "lokt");
  } finally {
    await s.close();
  }
});

test("mcp acquire holds the lock in the server's process with the client's name, release lets it go", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const env = serverEnv(root, "agent-a");
  const s = await connect(env, { clientName: "claude-code" });
  try {
    const taken = await call(s, "acquire", { name: "build", ttl: "5m" });
    assertEquals(taken.isError, false, taken.text);
    assertEquals(taken.data.status, "acquired");
    assertEquals(taken.data.fence, 1);
    const lock = lockOf(taken.data);
    assertEquals(lock.kind, "guard");
    assertEquals(lock.pid, s.pid);
    assertEquals(lock.client, "claude-code/1.2.3");
    assertEquals(lock.agent_id, "agent-a");
    assertEquals(lock.ttl_sec, 300);
    assertMatch(taken.text, /^acquired lock "build" \(fence 1, expires in /);

    // The CLI sees the same holder, client included, and cannot take the lock.
    const cli = serverEnv(root, "agent-b");
    const status = JSON.parse((await lokt(["status", "--json"], { env: cli })).stdout);
    assertEquals(status.locks[0].client, "claude-code/1.2.3");
    assertEquals(status.locks[0].state, "live");
    const why = await lokt(["why", "build", "--json"], { env: cli });
    assertEquals(why.code, 2);
    assertEquals(JSON.parse(why.stdout).reasons[0].holder_client, "claude-code/1.2.3");
    assertEquals((await lokt(["lock", "build"], { env: cli })).code, 2);

    // The MCP status tool returns the CLI's `status --json`, plus the client in the identity.
    const listed = await call(s, "status");
    assertEquals((listed.data.locks as Structured[]).map((l) => l.name), ["build"]);
    assertEquals((listed.data.identity as Structured).client, "claude-code/1.2.3");
    const mine = await call(s, "why", { name: "build" });
    assertEquals(mine.data.acquirable, true, "its own hold is acquirable for the server");

    const again = await call(s, "acquire", { name: "build" });
    assertEquals(again.data.status, "reentered");
    assertEquals(again.data.fence, 1);

    const released = await call(s, "release", { name: "build" });
    assertEquals(released.isError, false, released.text);
    assertEquals(released.data.status, "released");
    assertEquals(lockFiles(root), []);
    assertEquals((await lokt(["lock", "build"], { env: cli })).code, 0);
  } finally {
    await s.close();
  }
});

test("mcp acquire with wait queues first come, first served behind another server", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const a = await connect(serverEnv(root, "agent-a"));
  const b = await connect(serverEnv(root, "agent-b"));
  const c = await connect(serverEnv(root, "agent-c"));
  try {
    assertEquals((await call(a, "acquire", { name: "deploy" })).data.fence, 1);
    const progressB: string[] = [];
    const waitB = b.client.callTool(
      { name: "acquire", arguments: { name: "deploy", wait: true } },
      {
        onprogress: (p) => void progressB.push(p.message ?? ""),
      },
    );
    await eventually(() => queued(root, "deploy").length === 1, "b is queued");
    await eventually(() => progressB.length > 0, "b reports progress");
    assertMatch(progressB[0], /^waiting: .*"deploy"/);
    let cDone = false;
    const waitC = c.client.callTool({ name: "acquire", arguments: { name: "deploy", wait: true } })
      .then((r) => {
        cDone = true;
        return r;
      });
    await eventually(() => queued(root, "deploy").length === 2, "c is queued behind b");

    await call(a, "release", { name: "deploy" });
    const gotB = await waitB;
    assertEquals(gotB.isError, undefined, textOf(gotB));
    assertEquals((gotB.structuredContent as Structured).fence, 2);
    assertEquals(cDone, false, "c still waits while b holds the lock");
    assertEquals((await call(c, "status", { name: "deploy" })).data.pid, b.pid);

    await call(b, "release", { name: "deploy" });
    const gotC = await waitC;
    assertEquals((gotC.structuredContent as Structured).fence, 3);
    assertEquals(queued(root, "deploy"), []);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test("mcp acquire with slots gives each server its own slot and queues the next in line", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const [a, b, c] = await Promise.all(
    ["agent-a", "agent-b", "agent-c"].map((agent) => connect(serverEnv(root, agent))),
  );
  try {
    const gotA = await call(a, "acquire", { name: "testdb", slots: 2 });
    const gotB = await call(b, "acquire", { name: "testdb", slots: 2 });
    assertEquals([gotA.data.slot, gotB.data.slot], [1, 2]);
    assertEquals([gotA.data.slots, gotB.data.slots], [2, 2]);
    assertMatch(gotB.text, /slot 2 of 2, fence 2/);
    const full = await call(c, "acquire", { name: "testdb", slots: 2 });
    assertEquals((full.data.error as Structured).code, "held");
    const mixed = await call(c, "acquire", { name: "testdb", slots: 3 });
    assertEquals((mixed.data.error as Structured).code, "slots_mismatch");

    const waitC = c.client.callTool({
      name: "acquire",
      arguments: { name: "testdb", slots: 2, wait: true },
    });
    await eventually(() => queued(root, "testdb").length === 1, "c is queued");
    await call(a, "release", { name: "testdb" });
    const gotC = (await waitC).structuredContent as Structured;
    assertEquals([gotC.slot, gotC.fence], [1, 3]);
    const status = (await call(a, "status", { name: "testdb" })).data;
    assertEquals([status.slots, status.held], [2, 2]);
    const holders = (status.holders as Structured[]).map((h) => h.pid).sort();
    assertEquals(holders, [b.pid, c.pid].sort());
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test("mcp locks of a server killed with SIGKILL are taken over at once by the next acquirer", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const a = await connect(serverEnv(root, "agent-a"));
  const b = await connect(serverEnv(root, "agent-b"));
  try {
    await call(a, "acquire", { name: "db", ttl: "1h" });
    assertEquals((await call(b, "acquire", { name: "db" })).isError, true, "held while a lives");
    Deno.kill(a.pid, "SIGKILL");
    await eventually(() => {
      try {
        return Deno.readTextFileSync(`/proc/${a.pid}/stat`).split(") ")[1][0] === "Z";
      } catch {
        return true;
      }
    }, "a is dead");
    const taken = await call(b, "acquire", { name: "db" });
    assertEquals(taken.isError, false, taken.text);
    assertEquals(taken.data.status, "acquired");
    const replaced = taken.data.replaced as Structured;
    assertEquals(replaced.kind, "stale");
    assertEquals(replaced.reason, "dead");
  } finally {
    await Promise.all([a.close().catch(() => {}), b.close()]);
  }
});

test("mcp closing stdin releases the server's locks and the server exits 0", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const codeFile = `${dir.path}/exit-code`;
  // A shell in between records the server's exit code, which the SDK's client does not expose.
  const script = `${dir.path}/serve.sh`;
  Deno.writeTextFileSync(
    script,
    `'${Deno.execPath()}' run -A '${MAIN}' mcp\necho $? > '${codeFile}'\n`,
  );
  const s = await connect(serverEnv(root, "agent-a"), { command: "sh", args: [script] });
  await call(s, "acquire", { name: "one" });
  await call(s, "acquire", { name: "two", ttl: "10m" });
  assertEquals(lockFiles(root), ["one.json", "two.json"]);
  await s.transport.close(); // ends stdin; TERM only if the server lingers past 2 s
  await eventually(() => {
    try {
      return Deno.readTextFileSync(codeFile).trim() !== "";
    } catch {
      return false;
    }
  }, "the server has exited");
  assertEquals(Deno.readTextFileSync(codeFile).trim(), "0");
  assertEquals(lockFiles(root), []);
  const audit = Deno.readTextFileSync(`${root}/audit.log`).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(
    audit.filter((e) => e.event === "release").map((e) => e.name).sort(),
    ["one", "two"],
  );
});

test("mcp SIGTERM releases the server's locks", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const s = await connect(serverEnv(root, "agent-a"));
  try {
    await call(s, "acquire", { name: "one" });
    Deno.kill(s.pid, "SIGTERM");
    await eventually(() => lockFiles(root).length === 0, "the lock is released");
  } finally {
    await s.close().catch(() => {});
  }
});

test("mcp release_all releases this session's locks and nobody else's", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const s = await connect(serverEnv(root, "agent-a"));
  const cli = serverEnv(root, "agent-a"); // the same agent id, from a shell
  try {
    assertEquals((await lokt(["lock", "plain", "--ttl", "5m"], { env: cli })).code, 0);
    await call(s, "acquire", { name: "one" });
    await call(s, "acquire", { name: "two" });
    const released = await call(s, "release_all");
    assertEquals(released.data, { released: ["one", "two"], count: 2 });
    assertEquals(lockFiles(root), ["plain.json"]);
    assertEquals((await call(s, "release_all")).data.count, 0);
  } finally {
    await s.close();
  }
});

test("mcp a cancelled wait leaves the queue and the lock free for the next acquirer", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const a = await connect(serverEnv(root, "agent-a"));
  const b = await connect(serverEnv(root, "agent-b"));
  try {
    await call(a, "acquire", { name: "port-3000" });
    const abort = new AbortController();
    const waiting = b.client.callTool(
      { name: "acquire", arguments: { name: "port-3000", wait: true } },
      { signal: abort.signal },
    ).then(() => "resolved", () => "rejected");
    await eventually(() => queued(root, "port-3000").length === 1, "b is queued");
    abort.abort();
    assertEquals(await waiting, "rejected");
    await eventually(() => queued(root, "port-3000").length === 0, "b's ticket is gone");
    await call(a, "release", { name: "port-3000" });
    const taken = await call(b, "acquire", { name: "port-3000" });
    assertEquals(taken.isError, false, `no ticket left in the way: ${taken.text}`);
    assertEquals((await call(b, "status")).data.locks instanceof Array, true);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("mcp bad input is a tool error with the CLI's message and hint, and leaves nothing behind", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const a = await connect(serverEnv(root, "agent-a"));
  const other = await connect(serverEnv(root, "agent-b"));
  try {
    await call(other, "acquire", { name: "theirs" });
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ["nosuchtool", {}, "usage", /^unknown tool "nosuchtool"/],
      ["acquire", {}, "usage", /^missing name/],
      ["acquire", { name: 7 }, "usage", /^name: expected a string, got 7/],
      ["acquire", { name: "../x" }, "invalid_name", /^invalid lock name "\.\.\/x"/],
      ["acquire", { name: "-rf" }, "invalid_name", /must start with a letter or a digit/],
      ["acquire", { name: "x".repeat(129) }, "invalid_name", /the limit is 128/],
      ["acquire", { name: "ok", ttl: "5" }, "usage", /^ttl: /],
      ["acquire", { name: "ok", ttl: "0s" }, "usage", /^ttl: /],
      ["acquire", { name: "ok", ttl: 5 }, "usage", /^ttl: expected a string/],
      ["acquire", { name: "ok", wait: "yes" }, "usage", /^wait: expected true or false/],
      ["acquire", { name: "ok", timeout: "1s" }, "usage", /^timeout only applies with wait/],
      ["acquire", { name: "ok", colour: "red" }, "usage", /^unknown argument "colour"/],
      ["acquire", { name: "ok", slots: 0 }, "usage", /^slots: 0 is below 1/],
      ["acquire", { name: "ok", slots: 1.5 }, "usage", /^slots: expected a whole number/],
      ["acquire", { name: "ok", slots: 257 }, "usage", /^slots must be at most 256, not 257/],
      ["acquire", { name: "theirs", slots: 2 }, "slots_mismatch", /in use with 1 slot/],
      ["acquire", { name: "theirs" }, "held", /"theirs"/],
      ["release", { name: "nothing" }, "not_found", /"nothing"/],
      ["release", { name: "theirs" }, "not_owner", /belongs to/],
      ["freeze", { name: "ok", ttl: "1m" }, "usage", /^missing reason/],
      ["freeze", { name: "ok", reason: "x" }, "usage", /^missing ttl/],
      ["unfreeze", { name: "ok", force: true }, "usage", /give a reason/],
      ["unfreeze", { name: "ok" }, "not_found", /freeze/],
      ["why", {}, "usage", /^missing name/],
      ["status", { name: "a/b" }, "invalid_name", /invalid lock name/],
    ];
    for (const [tool, args, code, message] of cases) {
      const result = await call(a, tool, args);
      const label = `${tool} ${JSON.stringify(args)}`;
      assertEquals(result.isError, true, label);
      const error = result.data.error as Structured;
      assertEquals(error.code, code, label);
      assertMatch(error.message as string, message, label);
      assertMatch(result.text, /^error: /, label);
    }
    // The CLI's hint comes along.
    const held = await call(a, "acquire", { name: "theirs" });
    assertMatch((held.data.error as Structured).hint as string, /--wait/);
    // Still serving, and nothing of a's is left on disk.
    assertEquals((await call(a, "status")).isError, false);
    assertEquals(lockFiles(root), ["theirs.json"]);
    assertEquals(dirNames(`${root}/freezes`), []);
  } finally {
    await Promise.all([a.close(), other.close()]);
  }
});

test("mcp freeze needs a reason; forcing someone else's unfreeze needs one too and audits it", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const a = await connect(serverEnv(root, "agent-a"));
  try {
    const cli = serverEnv(root, "ops", { LOKT_OWNER: "ops" });
    assertEquals(
      (await lokt(["freeze", "deploy", "--ttl", "10m", "--reason", "incident"], { env: cli }))
        .code,
      0,
    );
    const refused = await call(a, "unfreeze", { name: "deploy" });
    assertEquals((refused.data.error as Structured).code, "not_owner");
    const forced = await call(a, "unfreeze", {
      name: "deploy",
      force: true,
      reason: "the user says the incident is over",
    });
    assertEquals(forced.isError, false, forced.text);
    assertEquals(forced.data.status, "force-unfrozen");
    const events = Deno.readTextFileSync(`${root}/audit.log`).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const event = events.find((e) => e.event === "force-unfreeze");
    assertEquals(event?.extra?.reason, "the user says the incident is over");

    const frozen = await call(a, "freeze", { name: "deploy", ttl: "1m", reason: "release" });
    assertEquals(frozen.data.status, "frozen");
    assertEquals((await lokt(["lock", "deploy"], { env: cli })).code, 2);
    assertEquals((await call(a, "unfreeze", { name: "deploy" })).data.status, "unfrozen");
  } finally {
    await a.close();
  }
});

test("mcp a CLI guard and an MCP client contend for the same name, each waiting for the other", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const s = await connect(serverEnv(root, "agent-a"));
  const cli = serverEnv(root, "terminal");
  try {
    await call(s, "acquire", { name: "shared" });
    const refused = await lokt(["guard", "shared", "--", "true"], { env: cli });
    assertEquals(refused.code, 2);
    const guard = lokt(["guard", "shared", "--wait", "--quiet", "--", "true"], { env: cli });
    await eventually(() => queued(root, "shared").length === 1, "the guard waits");
    await call(s, "release", { name: "shared" });
    assertEquals((await guard).code, 0);

    // The other way round: the guard holds while its command runs; the MCP client waits.
    const go = `${dir.path}/go`;
    const started = `${dir.path}/started`;
    const holding = lokt([
      "guard",
      "shared",
      "--",
      "sh",
      "-c",
      `touch "${started}"; while [ ! -e "${go}" ]; do sleep 0.02; done`,
    ], { env: cli });
    await eventually(() => dirNames(dir.path).includes("started"), "the guarded command runs");
    const waiting = call(s, "acquire", { name: "shared", wait: true });
    await eventually(() => queued(root, "shared").length === 1, "the MCP client waits");
    Deno.writeTextFileSync(go, "");
    assertEquals((await holding).code, 0);
    const taken = await waiting;
    assertEquals(taken.isError, false, taken.text);
    assertEquals(
      taken.data.fence,
      4,
      "after the MCP client's, the waiting guard's, the holding guard's",
    );
  } finally {
    await s.close();
  }
});

test("mcp lokt://status notifies a subscriber when a lock is taken or released", async () => {
  using dir = tempDir();
  const root = `${dir.path}/.lokt`;
  const s = await connect(serverEnv(root, "agent-a"));
  try {
    let updates = 0;
    s.client.setNotificationHandler("notifications/resources/updated", (n) => {
      if (n.params.uri === "lokt://status") updates++;
    });
    await s.client.subscribeResource({ uri: "lokt://status" });
    const cli = serverEnv(root, "terminal");
    assertEquals((await lokt(["lock", "other", "--ttl", "1m"], { env: cli })).code, 0);
    await eventually(() => updates >= 1, "a notification for the CLI's lock");
    const read = await s.client.readResource({ uri: "lokt://status" });
    const content = read.contents[0] as { text: string; mimeType?: string };
    assertEquals(content.mimeType, "application/json");
    assertEquals(JSON.parse(content.text).locks.map((l: Structured) => l.name), ["other"]);
    const seen = updates;
    assertEquals((await lokt(["unlock", "other"], { env: cli })).code, 0);
    await eventually(() => updates > seen, "a notification for the release");
  } finally {
    await s.close();
  }
});

test("mcp answers an initialize of an older protocol version with that version", async () => {
  using dir = tempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "mcp"],
    env: serverEnv(`${dir.path}/.lokt`, "agent-a"),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(
    JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2024-11-05",
        capabilities: {},
        clientInfo: { name: "old", version: "0" },
      },
    }) + "\n",
  ));
  await writer.close();
  const out = await child.output();
  assertEquals(out.code, 0);
  const reply = JSON.parse(new TextDecoder().decode(out.stdout).split("\n")[0]);
  assertEquals(reply.result.protocolVersion, "2024-11-05");
  assertEquals(reply.result.serverInfo.name, "lokt");
});

test("lokt prime --mcp prints a setup that starts this checkout's server", async () => {
  using dir = tempDir();
  const env = serverEnv(`${dir.path}/.lokt`, "agent-a");
  const result = await lokt(["prime", "--mcp", "cursor", "--json"], { env });
  assertEquals(result.code, 0, result.stderr);
  const printed = JSON.parse(result.stdout);
  assertEquals(printed.args, ["run", "-A", RUN_FLAG, MAIN, "mcp"]);
  const config = JSON.parse(printed.text).mcpServers.lokt;
  // The command it prints starts a server that answers.
  const s = await connect(env, { command: Deno.execPath(), args: config.args });
  try {
    assertEquals((await call(s, "status")).isError, false);
  } finally {
    await s.close();
  }
  assertEquals((await lokt(["prime", "--mcp", "vim"], { env })).code, 64);
});
