/**
 * The protocol's model (model/lokt.pml) checked with Spin in its CI configuration, through
 * scripts/model.ts: every property holds on the model of the code, and every variant with a
 * safeguard removed produces a counterexample. Without spin or gcc the tests fail: `.ci/run`
 * installs both.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import {
  type Check,
  judge,
  missingTools,
  type Outcome,
  type PanResult,
  parsePan,
  plan,
  runChecks,
} from "../../scripts/model.ts";

const SAFE_RUN = `(Spin Version 6.5.2 -- 6 December 2019)
	+ Partial Order Reduction

State-vector 164 byte, depth reached 702, errors: 0
   536012 states, stored
   981313 states, matched
pan: elapsed time 2.91 seconds
pan: rate 184196.56 states/second
`;

const CLAIM_VIOLATED = `pan:1: assertion violated  !( !(whole_ok)) (at depth 184)
pan: wrote lokt.pml.trail
State-vector 164 byte, depth reached 298, errors: 1
      528 states, stored
pan: elapsed time 0.01 seconds
`;

const MODEL_ASSERTION = `pan:1: assertion violated (mutex==me) (at depth 40)
State-vector 164 byte, depth reached 40, errors: 1
       41 states, stored
pan: elapsed time 0 seconds
`;

const CYCLE = `pan:1: acceptance cycle (at depth 290)
State-vector 180 byte, depth reached 559, errors: 1
    50104 states, stored (499121 visited)
pan: elapsed time 1.51 seconds
`;

const MEMORY_BOUND = `pan: reached -DMEMLIM bound
	3.07e+09 bytes used
State-vector 172 byte, depth reached 1470, errors: 0
 15465548 states, stored
pan: elapsed time 50.86 seconds
`;

Deno.test("pan's reports are read: states, time, errors and the violation", () => {
  const table: [string, PanResult][] = [
    [SAFE_RUN, {
      kind: "complete",
      errors: 0,
      states: 536012,
      seconds: 2.91,
      violation: undefined,
    }],
    [CLAIM_VIOLATED, {
      kind: "complete",
      errors: 1,
      states: 528,
      seconds: 0.01,
      violation: "assertion violated  !( !(whole_ok))",
    }],
    [CYCLE, {
      kind: "complete",
      errors: 1,
      states: 50104,
      seconds: 1.51,
      violation: "acceptance cycle",
    }],
    [MEMORY_BOUND, {
      kind: "incomplete",
      reason: "reached -DMEMLIM bound",
      states: 15465548,
      seconds: 50.86,
    }],
    ["spin: error", { kind: "incomplete", reason: "no report from pan", states: 0, seconds: 0 }],
  ];
  for (const [text, expected] of table) assertEquals(parsePan(text), expected, text);
});

Deno.test("a check passes only with the result its kind asks for, on its own property", () => {
  const property: Check = { name: "whole", property: "whole", kind: "property", config: "x" };
  const control: Check = { ...property, name: "V", kind: "control", variant: "V" };
  const live: Check = { ...control, property: "live" };
  const table: [Check, string, boolean][] = [
    [property, SAFE_RUN, true],
    [property, CLAIM_VIOLATED, false],
    [property, MEMORY_BOUND, false],
    [control, CLAIM_VIOLATED, true],
    [control, SAFE_RUN, false],
    [control, MODEL_ASSERTION, false],
    [control, MEMORY_BOUND, false],
    [live, CYCLE, true],
    [live, CLAIM_VIOLATED, false],
  ];
  for (const [check, text, ok] of table) {
    assertEquals(judge(check, parsePan(text)), ok, `${check.kind} ${check.property}: ${text}`);
  }
});

Deno.test("spin and gcc are installed (.ci/run installs them)", async () => {
  const missing = await missingTools();
  assertEquals(missing, [], `missing ${missing.join(", ")}: .ci/run installs spin and gcc`);
});

Deno.test("the CI plan checks every property and the three required negative controls", () => {
  const checks = plan(true);
  const properties = new Set(checks.filter((c) => c.kind === "property").map((c) => c.property));
  assertEquals([...properties].sort(), [
    "ends",
    "fence",
    "fifo",
    "inside",
    "live",
    "mutex",
    "slots",
    "whole",
  ]);
  const controls = checks.filter((c) => c.kind === "control").map((c) => c.variant);
  for (
    const required of [
      "NO_MUTEX_TAKEOVER",
      "RELEASE_NO_COMPARE",
      "PUBLISH_CREATE_WRITE",
      "SLOTS_UNLOCKED",
    ]
  ) {
    assert(controls.includes(required), `${required} is among the controls`);
  }
});

Deno.test("the model: every property holds and every variant produces a counterexample", async () => {
  const missing = await missingTools();
  assertEquals(missing, [], `missing ${missing.join(", ")}: .ci/run installs spin and gcc`);
  const checks = plan(true);
  const outcomes: Outcome[] = await runChecks(checks, { quick: true, jobs: 2 });
  assertEquals(outcomes.length, checks.length);
  for (const { check, result, ok, kept } of outcomes) {
    const expected = check.kind === "property" ? "holds" : "a counterexample";
    assert(
      ok,
      `${check.name} (${check.property} on ${check.config}) must show ${expected}, got ` +
        `${JSON.stringify(result)}; the verifier is kept in ${kept}`,
    );
  }
});
