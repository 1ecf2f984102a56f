/**
 * Plain locks taken from really detached processes: each racer is `lokt lock` in a background
 * subshell of a shell that leads its own session (`setsid`) and returns at once, so by the time
 * lokt runs, its parent chain is cut and the process it hangs under exits right after it. A lock
 * anchored to that process would be stale a moment later and every racer would "win" in turn.
 * Linux only: `setsid(1)` and session ids from `/proc`.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, lokt, MAIN, tempDir, until } from "../helpers/cli.ts";

const LINUX = Deno.build.os === "linux";

/** Detection on (sessions only: a harness that happens to run the tests must not matter). */
function detachedEnv(root: string): Record<string, string> {
  const { LOKT_AGENT_ID: _, ...env } = holderEnv(root, "unused", { LOKT_NO_DETECT: "harness" });
  return env;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Starts `lokt ARGS` in a background subshell of a new session's shell, which then runs `after`
 * (by default nothing: the session's leader exits at once). The subshell writes lokt's exit
 * code to `<out>.code` and its stderr to `<out>.err`. Returns the leader (already exited unless
 * `after` keeps it).
 */
async function detached(
  args: string[],
  env: Record<string, string>,
  out: string,
  after = "",
): Promise<Deno.ChildProcess> {
  const lokt = [Deno.execPath(), "run", "-A", MAIN, ...args].map(quote).join(" ");
  // The racer's own shell starts the subshell and returns: the chain above the subshell is cut.
  const racer = `( ${lokt} >/dev/null 2>${quote(`${out}.err`)}; ` +
    `echo $? > ${quote(`${out}.tmp`)}; mv ${quote(`${out}.tmp`)} ${quote(`${out}.code`)} ) &`;
  const leader = new Deno.Command("setsid", {
    args: ["sh", "-c", `sh -c ${quote(racer)}; ${after}`],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  if (after === "") await leader.status;
  return leader;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Waits for the racers writing `<out>.code` and returns their exit codes. */
function codes(outs: string[]): Promise<number[]> {
  return until(
    "the detached racers",
    () => {
      const texts = outs.map((out) => readText(`${out}.code`));
      return texts.every((t) => t !== undefined) ? texts.map((t) => Number(t)) : undefined;
    },
    60_000,
  );
}

function readLock(root: string, name: string) {
  return JSON.parse(Deno.readTextFileSync(`${root}/locks/${name}.json`));
}

Deno.test({
  name: "detached racers on an expired lock: one wins, the lock follows no dying process",
  ignore: !LINUX,
  async fn() {
    using dir = tempDir();
    const root = `${dir.path}/root`;
    const old = await lokt(["lock", "t", "--ttl", "200ms"], { env: holderEnv(root, "old") });
    assertEquals(old.code, 0, old.stderr);
    await new Promise((r) => setTimeout(r, 300)); // the TTL under test runs out

    // Two waves, so that the second comes after every racer of the first has gone.
    const env = detachedEnv(root);
    const results: number[] = [];
    for (const wave of [0, 1]) {
      const outs = [0, 1, 2, 3, 4].map((i) => `${dir.path}/racer-${wave}-${i}`);
      await Promise.all(outs.map((out) => detached(["lock", "t", "--ttl", "1m"], env, out)));
      results.push(...await codes(outs));
    }
    const winners = results.filter((code) => code === 0).length;
    assertEquals(winners, 1, `exit codes ${results.join(" ")}`);
    assert(results.every((code) => code === 0 || code === 2), `exit codes ${results.join(" ")}`);

    const lock = readLock(root, "t");
    assertEquals([lock.pid, lock.pid_source], [0, null], "follows no process");
    assertMatch(lock.agent_id, /^session:\d+$/);
    const winner = [0, 1].flatMap((w) => [0, 1, 2, 3, 4].map((i) => `${dir.path}/racer-${w}-${i}`))
      .find((_, i) => results[i] === 0)!;
    assertMatch(
      readText(`${winner}.err`) ?? "",
      /^note: lock "t" follows no process \(the leader of lokt's session, pid \d+, has exited\)/,
    );
  },
});

Deno.test({
  name:
    "a detached lokt follows its session's leader while that runs, though no longer its ancestor",
  ignore: !LINUX,
  async fn() {
    using dir = tempDir();
    const root = `${dir.path}/root`;
    const out = `${dir.path}/racer`;
    // The leader stays (it execs a sleep, keeping its pid) while the racer's chain is cut.
    const leader = await detached(["lock", "t"], detachedEnv(root), out, "exec sleep 60");
    const pid = leader.pid;
    try {
      assertEquals(await codes([out]), [0], readText(`${out}.err`));
      const lock = readLock(root, "t");
      assertEquals([lock.pid, lock.pid_source, lock.agent_id], [
        pid,
        "anchor",
        `session:${pid}-${lock.pid_start}`,
      ]);
      const other = await lokt(["lock", "t"], { env: holderEnv(root, "other") });
      assertEquals(other.code, 2, "held while the leader runs");
    } finally {
      leader.kill("SIGKILL");
      await leader.status;
    }
    const after = await lokt(["lock", "t"], { env: holderEnv(root, "other") });
    assertEquals(after.code, 0, "taken over once the leader is gone");
    assertMatch(after.stdout, /took over a stale lock .*\(dead\)/);
  },
});
