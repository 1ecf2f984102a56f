import { assertEquals } from "../helpers/assert.ts";
import { resolveIdentity } from "../../src/identity/identity.ts";
import { FakeProbe } from "../helpers/fake_probe.ts";

function resolve(
  probe: FakeProbe,
  env: Record<string, string>,
  detect: "all" | "session" | "none" = "all",
) {
  return resolveIdentity({
    env: (k) => env[k],
    probe,
    pid: 100,
    detect,
    userName: () => "dbuser",
    nonce: () => "n0",
  });
}

/** init(1) - terminal(50) - bash(60, session leader) - lokt(100) */
function terminal(): FakeProbe {
  return new FakeProbe()
    .add({ pid: 1, comm: "systemd" })
    .add({ pid: 50, ppid: 1, comm: "gnome-terminal" })
    .add({ pid: 60, ppid: 50, sid: 60, comm: "bash" })
    .add({ pid: 100, ppid: 60, sid: 60, comm: "deno" });
}

Deno.test("owner: LOKT_OWNER, else USER, else the user database, else unknown", () => {
  const p = terminal();
  assertEquals(resolve(p, { LOKT_OWNER: "bot-1", USER: "alice" }).owner, "bot-1");
  assertEquals(resolve(p, { USER: "alice" }).owner, "alice");
  assertEquals(resolve(p, { LOGNAME: "bob" }).owner, "bob");
  assertEquals(resolve(p, {}).owner, "dbuser");
  assertEquals(
    resolveIdentity({
      env: () => undefined,
      probe: p,
      pid: 100,
      detect: "all",
      userName: () => undefined,
      nonce: () => "n0",
    }).owner,
    "unknown",
  );
});

Deno.test("agent id: LOKT_AGENT_ID wins and names no process", () => {
  const id = resolve(terminal(), { LOKT_AGENT_ID: "worker-3", CLAUDE_CODE_SESSION_ID: "abc" });
  assertEquals([id.agentId, id.agentSource, id.anchor], ["worker-3", "LOKT_AGENT_ID", undefined]);
});

Deno.test("agent id: a harness session variable, anchored to the harness process when it is an ancestor", () => {
  const probe = terminal().add({ pid: 70, ppid: 60, sid: 60, comm: "claude" });
  probe.processes.get(100)!.ppid = 70;
  const id = resolve(probe, { CLAUDE_CODE_SESSION_ID: "5f0c" });
  assertEquals(id.agentId, "claude-code:5f0c");
  assertEquals(id.agentSource, "CLAUDE_CODE_SESSION_ID");
  assertEquals(id.anchor?.pid, 70);
  const codex = resolve(terminal(), { CODEX_THREAD_ID: "t-9" });
  assertEquals([codex.agentId, codex.anchor], ["codex:t-9", undefined]);
});

Deno.test("agent id: a harness process among the ancestors, even under node", () => {
  const probe = terminal()
    .add({
      pid: 70,
      ppid: 60,
      sid: 60,
      comm: "node",
      argv: ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"],
    })
    .add({ pid: 80, ppid: 70, sid: 80, comm: "bash" });
  probe.processes.get(100)!.ppid = 80;
  probe.processes.get(100)!.sid = 80;
  const id = resolve(probe, { CLAUDECODE: "1" });
  assertEquals(id.agentId, "claude-code:70-s70");
  assertEquals(id.anchor?.pid, 70);
});

Deno.test("agent id: OPENCODE_PID names the harness process", () => {
  const probe = terminal().add({ pid: 70, ppid: 60, sid: 60, comm: "bun" });
  probe.processes.get(100)!.ppid = 70;
  const id = resolve(probe, { OPENCODE_PID: "70" });
  assertEquals([id.agentId, id.anchor?.pid], ["opencode:70-s70", 70]);
});

Deno.test("agent id: otherwise the terminal session, anchored to its leader", () => {
  const id = resolve(terminal(), {});
  assertEquals(id.agentId, "session:60-s60");
  assertEquals(id.anchor?.pid, 60);
  assertEquals(id.agentSource, "session leader (bash), pid 60");
});

Deno.test("agent id: two sessions of one user are two holders", () => {
  const probe = terminal()
    .add({ pid: 61, ppid: 50, sid: 61, comm: "bash" })
    .add({ pid: 101, ppid: 61, sid: 61, comm: "deno" });
  const a = resolve(probe, {});
  const b = resolveIdentity({
    env: () => undefined,
    probe,
    pid: 101,
    detect: "all",
    userName: () => "u",
    nonce: () => "n1",
  });
  assertEquals(a.agentId === b.agentId, false);
});

Deno.test("agent id: lokt leading its own session (exec'd by its shell) keeps the session's id, follows no process", () => {
  // `bash -c 'lokt lock x; lokt unlock x'` as a session leader: the first lokt runs under bash
  // (pid 60, the leader); bash then execs the second, which keeps pid 60 and its start time.
  const probe = terminal();
  const first = resolve(probe, {});
  probe.processes.delete(100);
  probe.add({ pid: 60, ppid: 50, sid: 60, comm: "lokt", start: "s60" });
  const second = resolveIdentity({
    env: () => undefined,
    probe,
    pid: 60,
    detect: "all",
    userName: () => "u",
    nonce: () => "n1",
  });
  assertEquals(second.agentId, first.agentId);
  assertEquals(second.anchor, undefined, "a lock must never follow lokt's own process");
  assertEquals(
    second.agentSource,
    "session led by lokt itself (its shell ran it with exec), pid 60",
  );
});

Deno.test("detection off: this lokt process alone, following no process, unless LOKT_AGENT_ID says so", () => {
  const id = resolve(terminal(), { CLAUDE_CODE_SESSION_ID: "x" }, "none");
  assertEquals([id.agentId, id.processScoped, id.anchor], ["process:100-n0", true, undefined]);
  assertEquals(id.agentSource, "this lokt process alone (detection is off: LOKT_NO_DETECT)");
  assertEquals(resolve(terminal(), { LOKT_AGENT_ID: "ci" }, "none").agentId, "ci");
  const sessionOnly = resolve(terminal().add({ pid: 70, ppid: 60, comm: "claude" }), {
    CLAUDE_CODE_SESSION_ID: "x",
  }, "session");
  assertEquals(sessionOnly.agentId, "session:60-s60");
});

Deno.test("an identity that cannot be determined fails closed: two such callers never share an id", () => {
  // A probe that sees nothing: no process facts (Windows), or a `ps` whose output did not parse.
  const blind = new FakeProbe();
  const nonces = ["a1", "b2"];
  const ids = nonces.map((nonce) =>
    resolveIdentity({
      env: () => undefined,
      probe: blind,
      pid: 100,
      detect: "all",
      userName: () => "u",
      nonce: () => nonce,
    })
  );
  assertEquals(ids.map((id) => [id.agentId, id.processScoped, id.anchor]), [
    ["process:100-a1", true, undefined],
    ["process:100-b2", true, undefined],
  ]);
  assertEquals(ids[0].agentId === ids[1].agentId, false);
});

/** systemd(1) - subshell(90) - lokt(100): a job whose starter returned; session 60's leader is not an ancestor. */
function detached(leader: "running" | "gone"): FakeProbe {
  const probe = new FakeProbe()
    .add({ pid: 1, comm: "systemd", sid: 1 })
    .add({ pid: 90, ppid: 1, sid: 60, comm: "sh" })
    .add({ pid: 100, ppid: 90, sid: 60, comm: "deno" });
  if (leader === "running") probe.add({ pid: 60, ppid: 50, sid: 60, comm: "bash" });
  return probe;
}

Deno.test("agent id: a detached job follows its session's leader while it runs, though not an ancestor", () => {
  const id = resolve(detached("running"), {});
  assertEquals([id.agentId, id.anchor?.pid, id.unanchored], ["session:60-s60", 60, undefined]);
  assertEquals(id.agentSource, "session leader (bash), no longer an ancestor, pid 60");
});

Deno.test("agent id: a detached job whose session's leader has exited follows no process, never its parent", () => {
  const id = resolve(detached("gone"), {});
  assertEquals([id.agentId, id.anchor, id.processScoped], ["session:60", undefined, false]);
  assertEquals(id.unanchored, "the leader of lokt's session, pid 60, has exited");
  // Another process with the leader's pid that leads no session (or a zombie) is not the leader.
  const impostor = detached("gone").add({ pid: 60, ppid: 1, sid: 7, comm: "sleep" });
  assertEquals(resolve(impostor, {}).anchor, undefined);
  const zombie = detached("gone").add({ pid: 60, ppid: 1, sid: 60, zombie: true });
  assertEquals(resolve(zombie, {}).anchor, undefined);
});

Deno.test("agent id: no session id (or session 0, which nobody leads) fails closed", () => {
  const noSid = terminal();
  noSid.processes.get(100)!.sid = undefined;
  assertEquals(resolve(noSid, {}).processScoped, true);
  const zero = terminal();
  zero.processes.get(100)!.sid = 0;
  assertEquals([resolve(zero, {}).agentId, resolve(zero, {}).anchor], [
    "process:100-n0",
    undefined,
  ]);
});
