import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { MAX_DURATION_MS, parseDuration } from "../src/duration.ts";

Deno.test("durations people type are parsed to milliseconds", () => {
  // Expected values are worked out by hand, never computed by lokt's own code.
  const cases: [string, number][] = [
    ["1ms", 1],
    ["500ms", 500],
    ["1s", 1_000],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["1h0m5s", 3_605_000],
    ["1d1h1m1s1ms", 90_061_001],
    ["5s5s", 10_000],
    ["2m1h", 3_720_000],
    [".5s", 500],
    ["0.001s", 1],
    ["1.5ms", 2],
    ["0.5ms", 1],
    ["+3m", 180_000],
    [" 30s ", 30_000],
    ["\t2m\n", 120_000],
    ["36500d", 3_153_600_000_000],
  ];
  for (const [text, ms] of cases) assertEquals(parseDuration(text), { ms }, JSON.stringify(text));
});

Deno.test("the longest accepted duration is 100 years of 365 days", () => {
  assertEquals(MAX_DURATION_MS, 3_153_600_000_000);
});

Deno.test("bare numbers, zero, negatives, too long and garbage are refused with a hint", () => {
  const cases: [string, RegExp][] = [
    ["5", /^"5" has no unit; write 5s, 5m or 5h$/],
    ["1.5", /^"1.5" has no unit; write 1.5s, 1.5m or 1.5h$/],
    ["-5", /^"-5" has no unit/],
    ["0s", /^"0s" is zero; durations must be positive$/],
    ["0s0ms", /is zero/],
    ["0.0001ms", /is zero/],
    ["0.4ms", /is zero/],
    ["-5m", /^"-5m" is negative; durations must be positive$/],
    ["--5m", /is negative/],
    ["", /^a duration cannot be empty \(try 30s, 5m or 1h\)$/],
    ["   ", /cannot be empty/],
    ["abc", /^"abc" is not a duration; use a number and a unit \(ms, s, m, h, d\), e\.g\. /],
    ["ms", /is not a duration/],
    ["5mm", /is not a duration/],
    ["1h30", /is not a duration/],
    ["1e3s", /is not a duration/],
    ["1H", /is not a duration/],
    ["5 m", /is not a duration/],
    ["1h 30m", /is not a duration/],
    ["1.s", /is not a duration/],
    ["1_000ms", /is not a duration/],
    ["+-5m", /is not a duration/],
    ["5w", /is not a duration/],
    ["36500d1ms", /^"36500d1ms" is too long; the limit is 100 years$/],
    ["99999999d", /is too long/],
  ];
  for (const [text, problem] of cases) {
    const parsed = parseDuration(text);
    assert("problem" in parsed, `${JSON.stringify(text)} was accepted: ${JSON.stringify(parsed)}`);
    assertMatch(parsed.problem, problem, JSON.stringify(text));
  }
});
