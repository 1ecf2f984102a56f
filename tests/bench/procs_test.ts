/** The benchmarks' arithmetic: pairing stamps into holds, hand-off gaps, fairness, the table. */

import { assertEquals } from "../helpers/assert.ts";
import { fairnessOf } from "../../bench/contention.ts";
import { handoffs, holdsOf, type Stamp } from "../../bench/procs.ts";
import { renderTable } from "../../bench/table.ts";

const s = (proc: number, kind: Stamp["kind"], t: number): Stamp => ({ proc, kind, t });

Deno.test("stamps pair into holds in acquisition order, and hand-offs are release to next acquire", () => {
  const holds = holdsOf([
    s(1, "acq", 12),
    s(0, "acq", 0),
    s(0, "rel", 10),
    s(1, "rel", 20),
    s(0, "acq", 21.5),
    s(0, "rel", 30),
  ]);
  assertEquals(holds.map((h) => [h.proc, h.acq, h.rel]), [[0, 0, 10], [1, 12, 20], [0, 21.5, 30]]);
  assertEquals(handoffs(holds), [2, 1.5]);
});

Deno.test("a first-come first-served schedule is fair: nobody overtaken, waits near the ideal", () => {
  // Three processes, each holding 10 ms, each re-asking at once after its release.
  const stamps: Stamp[] = [];
  let t = 0;
  for (let round = 0; round < 3; round++) {
    for (let p = 0; p < 3; p++) {
      stamps.push(s(p, "req", round === 0 ? 0 : t - 20), s(p, "acq", t), s(p, "rel", t + 10));
      t += 10;
    }
  }
  const fair = fairnessOf(holdsOf(stamps));
  assertEquals(fair.overtaken, 0);
  assertEquals(fair.counted, 6);
  assertEquals(fair.worst, 1);
});

Deno.test("an acquisition overtaken by a later request is counted", () => {
  const fair = fairnessOf(holdsOf([
    // First acquisitions (left out of the figures).
    s(0, "req", 0),
    s(0, "acq", 0),
    s(0, "rel", 10),
    s(1, "req", 0),
    s(1, "acq", 10),
    s(1, "rel", 20),
    s(2, "req", 0),
    s(2, "acq", 20),
    s(2, "rel", 30),
    // Process 0 asks at 11, process 1 at 21, but 1 gets it first.
    s(0, "req", 11),
    s(1, "req", 21),
    s(1, "acq", 30),
    s(1, "rel", 40),
    s(0, "acq", 40),
    s(0, "rel", 50),
  ]));
  assertEquals(fair.overtaken, 1);
  assertEquals(fair.worstWaitMs, 29);
});

Deno.test("the table is Markdown with one line per row", () => {
  const table = renderTable([{
    bench: "start-up",
    subject: "a | b",
    n: 3,
    median: "1.00 ms",
    p99: "2.00 ms",
    vsFlock: "",
    vsDeno: "1.00x",
    budget: "",
  }]);
  const lines = table.split("\n");
  assertEquals(lines.length, 3);
  assertEquals(lines[0].startsWith("| benchmark | subject"), true);
  assertEquals(lines[2].includes("a \\| b"), true);
});
