import { assertEquals } from "./helpers/assert.ts";
import { parseDuration } from "../src/duration.ts";

Deno.test("durations people type are parsed to milliseconds", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["2d", 172_800_000],
    ["1h0m5s", 3_605_000],
    [" 30s ", 30_000],
    [".5s", 500],
  ];
  for (const [text, ms] of cases) assertEquals(parseDuration(text), { ms }, text);
});

Deno.test("bare numbers, zero, negatives and garbage are refused with a hint", () => {
  const cases: [string, RegExp][] = [
    ["5", /no unit; write 5s, 5m or 5h/],
    ["0s", /zero/],
    ["0.0001ms", /zero/],
    ["-5m", /negative/],
    ["", /empty/],
    ["abc", /not a duration/],
    ["5mm", /not a duration/],
    ["1h30", /not a duration/],
    ["1e3s", /not a duration/],
    ["99999999d", /too long/],
  ];
  for (const [text, problem] of cases) {
    const parsed = parseDuration(text);
    if (!("problem" in parsed) || !problem.test(parsed.problem)) {
      throw new Error(
        `${JSON.stringify(text)}: expected ${problem}, got ${JSON.stringify(parsed)}`,
      );
    }
  }
});
