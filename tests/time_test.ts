import { assertEquals } from "./helpers/assert.ts";
import { formatIso } from "../src/time.ts";

Deno.test("formatIso agrees with Date#toISOString across four centuries", () => {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20_000; i++) {
    const ms = Math.floor((next() * 2 - 0.2) * 8e12);
    assertEquals(formatIso(ms), new Date(ms).toISOString(), String(ms));
  }
  for (
    const ms of [0, 951_782_400_000, 4_107_542_399_999, Date.UTC(2024, 1, 29, 23, 59, 59, 999)]
  ) {
    assertEquals(formatIso(ms), new Date(ms).toISOString(), String(ms));
  }
});
