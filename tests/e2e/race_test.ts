/**
 * Races through the real entry point, on every backend (`backendTest`): many `lokt` processes let
 * loose on one name together. The engines' own multi-process races live in `tests/races/` (files)
 * and `tests/backends/postgres/storm_test.ts`; these check the commands on top of them.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { backendTest } from "../helpers/backends.ts";
import { finish, lokt, MAIN } from "../helpers/cli.ts";

/** Starts `lokt ...args` from a shell that waits for the file `go` first (a barrier). */
function startAtGo(go: string, args: string[], env: Record<string, string>): Deno.ChildProcess {
  const lokt = [Deno.execPath(), "run", "-A", MAIN, ...args].map((a) => `'${a}'`).join(" ");
  return new Deno.Command("sh", {
    args: ["-c", `while [ ! -e '${go}' ]; do sleep 0.005; done; exec ${lokt}`],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

backendTest(
  "eight lokt lock processes let loose together on a free name: one wins, each round",
  async (place) => {
    let lastFence = 0;
    for (let round = 1; round <= 3; round++) {
      const go = `${place.dir}/go-${round}`;
      const agents = Array.from({ length: 8 }, (_, i) => `r${round}-${i}`);
      const racers = agents.map((agent) =>
        startAtGo(go, ["lock", "x", "--json"], place.env(agent))
      );
      Deno.writeTextFileSync(go, "");
      const results = await Promise.all(racers.map(finish));
      const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
      const show = JSON.stringify(results.map((r) => [r.code, r.stderr.slice(0, 120)]));
      assertEquals(winners.length, 1, `round ${round}: ${show}`);
      for (const r of results) assert(r.code === 0 || r.code === 2, `round ${round}: ${show}`);
      const won = JSON.parse(results[winners[0]].stdout);
      assert(won.fence > lastFence, `round ${round}: fence ${won.fence} after ${lastFence}`);
      lastFence = won.fence;
      const unlocked = await lokt(["unlock", "x"], { env: place.env(agents[winners[0]]) });
      assertEquals(unlocked.code, 0, unlocked.stderr);
    }
    const events = await place.events();
    assertEquals(events.filter((e) => e.event === "acquire").length, 3);
    assertEquals(events.filter((e) => e.event === "deny").length, 21);
  },
);

backendTest(
  "six guards --wait let loose together on one name: their commands never overlap",
  async (place) => {
    const go = `${place.dir}/go`;
    const inside = `${place.dir}/inside`;
    const count = `${place.dir}/count`;
    // mkdir is the witness: it fails if another command is inside.
    const command = `mkdir '${inside}' || exit 9; echo "$LOKT_FENCE" >> '${count}'; ` +
      `sleep 0.05; rmdir '${inside}'`;
    const guards = Array.from({ length: 6 }, (_, i) =>
      startAtGo(
        go,
        ["guard", "x", "--wait", "--quiet", "--", "sh", "-c", command],
        place.env(`g${i}`),
      ));
    Deno.writeTextFileSync(go, "");
    const results = await Promise.all(guards.map(finish));
    for (const r of results) {
      assertEquals(r.code, 0, r.stderr);
    }
    const fences = Deno.readTextFileSync(count).trim().split("\n").map(Number);
    assertEquals(fences.length, 6);
    for (let i = 1; i < fences.length; i++) assert(fences[i] > fences[i - 1], `fences ${fences}`);
    assertEquals(await place.holder("x"), undefined);
    assertEquals(await place.tickets("x"), 0);
  },
);
