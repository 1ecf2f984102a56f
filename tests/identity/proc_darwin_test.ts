/**
 * The macOS probe over fixture `ps` and `sysctl` output (any OS), and over the real system on
 * macOS.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { DarwinProbe, type RunCommand } from "../../src/identity/proc_darwin.ts";
import { PS_ENV } from "../../src/identity/darwin_parse.ts";
import { processState } from "../../src/identity/process.ts";
import { resolveIdentity } from "../../src/identity/identity.ts";
import { deadPid } from "../helpers/cli.ts";
import { PS_C } from "./darwin_fixtures.ts";

const UUID = "9F6B2B1E-1C3D-4E5F-8A9B-0C1D2E3F4A5B";
/** Sessions as getsid(2) would tell them: the terminal's login session, launchd's own. */
const SESSIONS = new Map([[1, 1], [412, 412], [4180, 4180], [4182, 4180], [5120, 4180], [
  6001,
  4180,
]]);

/** A probe reading `psOut` and `sysctlOut`; `calls` records what ran, with its environment. */
function fixtureProbe(psOut: string, sysctlOut = `${UUID}\n`) {
  const calls: { cmd: string; args: string[]; env?: Readonly<Record<string, string>> }[] = [];
  const run: RunCommand = (cmd, args, env) => {
    calls.push({ cmd, args, env });
    if (cmd === "sysctl") return sysctlOut;
    const p = args.indexOf("-p");
    if (p < 0) return psOut;
    return psOut.split("\n").filter((row) => row.trim().startsWith(`${args[p + 1]} `)).join("\n");
  };
  const probe = new DarwinProbe({ run, getsid: () => (pid) => SESSIONS.get(pid) });
  return { probe, calls };
}

function identityOf(probe: DarwinProbe, detect: "all" | "session") {
  return resolveIdentity({
    env: () => undefined,
    probe,
    pid: 6001,
    detect,
    userName: () => "alice",
    nonce: () => "n0",
  });
}

Deno.test("the macOS probe runs ps in the C locale and UTC and reads the process table", () => {
  const { probe, calls } = fixtureProbe(PS_C);
  const me = probe.info(6001);
  assertEquals([me?.pid, me?.ppid, me?.sid, me?.start], [6001, 5120, 4180, "1796305912"]);
  assertEquals(probe.ancestors(6001).map((p) => [p.pid, p.sid]), [
    [5120, 4180],
    [4182, 4180],
    [4180, 4180],
    [412, 412],
    [1, 1],
  ]);
  assertEquals(probe.info(5200)?.zombie, true);
  assertEquals(probe.machine().bootId, UUID);
  const ps = calls.filter((c) => c.cmd === "ps");
  assert(ps.length > 0);
  for (const call of ps) assertEquals(call.env, PS_ENV);
  assertEquals(calls.find((c) => c.cmd === "sysctl")?.args, ["-n", "kern.bootsessionuuid"]);
});

Deno.test("on the fixture table, identity finds the harness, or the terminal's session leader", () => {
  const { probe } = fixtureProbe(PS_C);
  const agent = identityOf(probe, "all");
  assertEquals([agent.agentId, agent.anchor?.pid], ["claude-code:5120-1795253401", 5120]);
  const session = identityOf(probe, "session");
  assertEquals([session.agentId, session.anchor?.pid], ["session:4180-1795252495", 4180]);
});

Deno.test("ps output lokt cannot read (another locale) leaves processes unknown and the identity closed", () => {
  const german = PS_C.replaceAll("Sat Nov 21", "Sa 21 Nov").replace("Thu Dec  3", "Do  3 Dez");
  const { probe } = fixtureProbe(german, "{ sec = 1763788118, usec = 151201 }\n");
  assertEquals([probe.info(6001), probe.ancestors(6001)], [undefined, []]);
  assertEquals(probe.machine().bootId, undefined);
  const id = identityOf(probe, "all");
  assertEquals([id.agentId, id.processScoped, id.anchor], ["process:6001-n0", true, undefined]);
  // A process that cannot be read is never taken for dead: signal 0 still sees this one.
  const blind = new DarwinProbe({ run: () => german, getsid: () => () => undefined });
  assertEquals(processState(blind, Deno.pid, "1795237718"), "unknown");
});

Deno.test({
  name:
    "the macOS probe sees this process, its session, its ancestors, the boot, and a reaped child as gone",
  ignore: Deno.build.os !== "darwin",
  async fn() {
    const probe = new DarwinProbe();
    const me = probe.info(Deno.pid);
    assert(me !== undefined, "ps output parses");
    assertMatch(me.start, /^\d+$/);
    assert(me.sid !== undefined && me.sid > 0, "getsid(2)");
    assertEquals(processState(probe, Deno.pid, me.start), "alive");
    assertEquals(probe.ancestors(Deno.pid)[0]?.pid, Deno.ppid);
    assertEquals(processState(probe, await deadPid(), undefined), "dead");
    assertMatch(probe.machine().bootId ?? "", /^[0-9A-F]{8}-[0-9A-F]{4}-/i);
  },
});
