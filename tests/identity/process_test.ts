import { assert, assertEquals } from "../helpers/assert.ts";
import { LinuxProbe, parseProcStat } from "../../src/identity/proc_linux.ts";
import { processState } from "../../src/identity/process.ts";
import { FakeProbe } from "../helpers/fake_probe.ts";
import { deadPid } from "../helpers/cli.ts";

Deno.test("/proc/<pid>/stat is parsed even when the command name holds spaces and parentheses", () => {
  const line =
    "1932 (my (odd) cmd) S 1928 1928 1063 0 -1 4194304 3443 0 29 0 2 5 0 0 20 0 6 0 58035 " +
    "18655490048 9285 18446744073709551615";
  const info = parseProcStat(1932, line);
  assertEquals(info, {
    pid: 1932,
    ppid: 1928,
    sid: 1063,
    start: "58035",
    zombie: false,
    comm: "my (odd) cmd",
  });
  assertEquals(
    parseProcStat(7, "7 (z) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0")?.zombie,
    true,
  );
  assertEquals(parseProcStat(7, "garbage"), undefined);
});

Deno.test("a recorded process is alive only with the same start time and not a zombie", () => {
  const probe = new FakeProbe().add({ pid: 10, start: "100" }).add({ pid: 11, zombie: true });
  assertEquals(processState(probe, 10, "100"), "alive");
  assertEquals(processState(probe, 10, undefined), "alive");
  assertEquals(processState(probe, 10, "99"), "dead");
  assertEquals(processState(probe, 11, undefined), "dead");
  assertEquals(processState(probe, 12, "1"), "dead");
  assertEquals(processState(probe, 0, undefined), "unknown");
});

const NOT_LINUX = Deno.build.os !== "linux";

Deno.test({
  name: "the Linux probe sees this process, its ancestors, and a reaped child as gone",
  ignore: NOT_LINUX,
  async fn() {
    const probe = new LinuxProbe();
    const me = probe.info(Deno.pid);
    assert(me !== undefined);
    assertEquals(processState(probe, Deno.pid, me.start), "alive");
    assertEquals(probe.ancestors(Deno.pid)[0]?.pid, Deno.ppid);
    assertEquals(processState(probe, await deadPid(), undefined), "dead");
    const machine = probe.machine();
    assert(machine.bootId && machine.bootId.length > 10, "boot id");
    assert(machine.pidNs && /^\d+$/.test(machine.pidNs), "pid namespace");
  },
});

Deno.test({
  name: "the Linux probe finds a process by an environment entry",
  ignore: NOT_LINUX,
  async fn() {
    const token = crypto.randomUUID();
    const child = new Deno.Command("sleep", { args: ["30"], env: { LOKT_LOCK_ID: token } }).spawn();
    try {
      const probe = new LinuxProbe();
      assertEquals(probe.environmentCarrier("LOKT_LOCK_ID", token), child.pid);
      assertEquals(probe.environmentCarrier("LOKT_LOCK_ID", crypto.randomUUID()), null);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});
