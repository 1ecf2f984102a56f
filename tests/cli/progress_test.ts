/** The cadence of a waiter's progress lines, with plain times and holder keys. */

import { assertEquals } from "../helpers/assert.ts";
import { type Printed, progressDue } from "../../src/cli/progress.ts";

Deno.test("a wait prints once at its start, then every 30 s for one holder, or on a change at most every 5 s", () => {
  const cases: [Printed | undefined, string, number, ReturnType<typeof progressDue>][] = [
    [undefined, "a", 0, "start"],
    [{ key: "a", atMs: 0 }, "a", 1, undefined],
    [{ key: "a", atMs: 0 }, "a", 29_999, undefined],
    [{ key: "a", atMs: 0 }, "a", 30_000, "still"],
    [{ key: "a", atMs: 0 }, "b", 1, undefined],
    [{ key: "a", atMs: 0 }, "b", 4_999, undefined],
    [{ key: "a", atMs: 0 }, "b", 5_000, "changed"],
    [{ key: "a", atMs: 10_000 }, "a", 9_000, "still"],
    [{ key: "a", atMs: 10_000 }, "b", 9_000, "changed"],
  ];
  for (const [last, key, nowMs, expected] of cases) {
    assertEquals(progressDue(last, key, nowMs), expected, JSON.stringify({ last, key, nowMs }));
  }
});

Deno.test("a holder changing every second for a minute prints twelve lines, not sixty", () => {
  let last: Printed | undefined;
  const printed: string[] = [];
  for (let s = 0; s < 60; s++) {
    const key = `holder-${s}`;
    const due = progressDue(last, key, s * 1_000);
    if (due === undefined) continue;
    printed.push(`${s}s ${due}`);
    last = { key, atMs: s * 1_000 };
  }
  assertEquals(printed, [
    "0s start",
    "5s changed",
    "10s changed",
    "15s changed",
    "20s changed",
    "25s changed",
    "30s changed",
    "35s changed",
    "40s changed",
    "45s changed",
    "50s changed",
    "55s changed",
  ]);
});

Deno.test("a holder change inside the 5 s is printed once they have passed, if the wait still blocks", () => {
  const last: Printed = { key: "a", atMs: 0 };
  assertEquals(progressDue(last, "b", 2_000), undefined);
  assertEquals(progressDue(last, "b", 5_500), "changed");
  assertEquals(progressDue(last, "a", 5_500), undefined, "back to the same holder: nothing new");
});
