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

Deno.test("formatIso writes years before 0000 and after 9999 with a sign and six digits", () => {
  const edges = [
    -8.64e15,
    8.64e15,
    Date.UTC(-1, 0, 1),
    -62_167_219_200_000, // 0000-01-01T00:00:00.000Z
    -62_167_219_200_001, // -000001-12-31T23:59:59.999Z
    Date.UTC(10000, 0, 1),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  ];
  for (const ms of edges) {
    assertEquals(formatIso(ms), new Date(ms).toISOString(), String(ms));
    assertEquals(Date.parse(formatIso(ms)), ms, `${ms} reads back`);
  }
});
