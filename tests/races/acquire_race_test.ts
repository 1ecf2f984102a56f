/**
 * A free name raced by real processes released together through the barrier: the link of a
 * complete record, under the name's kernel lock, lets exactly one of them in.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { auditEvents, tempDir } from "../helpers/cli.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { describeTimings, NOT_LINUX, raceRounds } from "./harness.ts";

Deno.test({
  name: "sixteen processes racing for a free lock: exactly one winner in each of 100 rounds",
  ignore: NOT_LINUX,
}, async () => {
  using dir = tempDir("lokt-races-");
  const root = `${dir.path}/root`;
  ensureLayout(layoutOf(root));
  const winnersSeen = new Set<number>();
  const lockIds: string[] = [];
  let lastFence = 0;

  const timings = await raceRounds({
    mode: "race",
    root,
    name: "deploy",
    racers: 16,
    rounds: 100,
    onRound: ({ round, results, winners }) => {
      const show = JSON.stringify(results);
      assertEquals(results.filter((r) => r.outcome === "error"), [], `round ${round}: errors`);
      assertEquals(winners.length, 1, `round ${round}: winners in ${show}`);
      const winner = results[winners[0]];
      assertEquals(winner.replaced, undefined, `round ${round}: nothing to replace`);
      for (const [i, r] of results.entries()) {
        if (i !== winners[0]) assertEquals(r.outcome, "held", `round ${round}: loser ${i}`);
      }
      assertEquals(winner.fence, lastFence + 1, `round ${round}: fence`);
      lastFence = winner.fence!;
      lockIds.push(winner.lockId!);
      winnersSeen.add(winners[0]);
    },
    onRelease: (round, outcome) => assertEquals(outcome, "released", `round ${round}: release`),
  });
  console.log(
    `free lock, 16 racers: ${describeTimings(timings)}; ${winnersSeen.size} distinct winners`,
  );

  assertEquals(timings.rounds, 100);
  assert(winnersSeen.size >= 3, `only racers ${[...winnersSeen]} ever won`);
  const events = auditEvents(root);
  assertEquals(events.filter((e) => e.event === "acquire").map((e) => e.lock_id), lockIds);
  assertEquals(events.filter((e) => e.event === "release").map((e) => e.lock_id), lockIds);
  assertEquals(events.filter((e) => e.event === "auto-prune"), []);
});
