/**
 * The macOS probe's parsers, on any OS, over the fixtures of `darwin_fixtures.ts`: only the C
 * form of `lstart` parses, which is why the probe runs `ps` with `LC_ALL=C`.
 */

import { assertEquals } from "../helpers/assert.ts";
import {
  parseBootSessionUuid,
  parseLstart,
  parsePsOutput,
  parsePsRow,
  PS_ENV,
} from "../../src/identity/darwin_parse.ts";
import { LOCALIZED_LSTART, PS_C } from "./darwin_fixtures.ts";

Deno.test("lstart in the C locale and UTC is read as seconds since the epoch", () => {
  assertEquals(parseLstart("Sat Nov 21 05:08:38 2026"), 1795237718);
  assertEquals(parseLstart("Thu Dec  3 13:51:52 2026"), 1796305912, "a day padded with a space");
  assertEquals(PS_ENV, { LC_ALL: "C", TZ: "UTC" });
});

for (const [locale, lstart] of LOCALIZED_LSTART) {
  Deno.test(`lstart in another locale does not parse: ${locale}`, () => {
    assertEquals(parseLstart(lstart), undefined);
    assertEquals(parsePsRow(`  4182  4180 S    ${lstart}     -zsh`), undefined);
  });
}

Deno.test("lstart out of range, or not a date, does not parse", () => {
  for (
    const text of [
      "",
      "Sat Nov 32 05:08:38 2026",
      "Sat Nov 21 24:08:38 2026",
      "Sat Foo 21 05:08:38 2026",
      "Xyz Nov 21 05:08:38 2026",
      "Sat Nov 21 05:08 2026",
    ]
  ) assertEquals(parseLstart(text), undefined, text);
});

Deno.test("ps rows in the C locale: pid, parent, start, zombie, command name and line", () => {
  const rows = parsePsOutput(PS_C);
  assertEquals(rows.map((p) => [p.pid, p.ppid, p.start, p.zombie, p.comm]), [
    [1, 0, "1795237718", false, "launchd"],
    [412, 1, "1795237742", false, "Terminal"],
    [4180, 412, "1795252495", false, "login"],
    [4182, 4180, "1795252495", false, "zsh"],
    [5120, 4182, "1795253401", false, "node"],
    [5200, 5120, "1795253470", true, "(git)"],
    [6001, 5120, "1796305912", false, ""],
  ]);
  assertEquals(rows[4].argv, [
    "node",
    "/opt/homebrew/lib/node_modules/@anthropic-ai/claude-code/cli.js",
  ]);
  assertEquals(rows[0].sid, undefined, "ps shows no session; the probe asks getsid(2)");
});

Deno.test("ps output in another locale yields no process at all, never a wrong one", () => {
  const german = PS_C.replaceAll("Sat Nov 21", "Sa 21 Nov").replace("Thu Dec  3", "Do  3 Dez");
  assertEquals(parsePsOutput(german), []);
  assertEquals(parsePsRow("garbage"), undefined);
});

Deno.test("the boot id is kern.bootsessionuuid, and nothing else", () => {
  assertEquals(
    parseBootSessionUuid("9F6B2B1E-1C3D-4E5F-8A9B-0C1D2E3F4A5B\n"),
    "9F6B2B1E-1C3D-4E5F-8A9B-0C1D2E3F4A5B",
  );
  // What `sysctl kern.boottime` prints: it moves when the clock is stepped, so it is no boot id.
  assertEquals(
    parseBootSessionUuid("{ sec = 1763788118, usec = 151201 } Sat Nov 22 05:08:38 2025\n"),
    undefined,
  );
  assertEquals(parseBootSessionUuid(""), undefined);
});
