/** The unified diff `--dry-run` prints. */

import { assertEquals } from "../helpers/assert.ts";
import { unifiedDiff } from "../../src/hooks/diff.ts";

Deno.test("equal texts have no diff", () => {
  assertEquals(unifiedDiff("f", "a\nb\n", "a\nb\n"), "");
});

Deno.test("a new file and a removed file diff against /dev/null", () => {
  assertEquals(unifiedDiff("f", "", "a\nb\n"), "--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  assertEquals(unifiedDiff("f", "a\n", ""), "--- a/f\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-a\n");
});

Deno.test("changes far apart get their own hunks with three lines of context", () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
  const after = before.replace("line 2\n", "line two\n").replace("line 18\n", "");
  assertEquals(
    unifiedDiff("f", before, after),
    [
      "--- a/f",
      "+++ b/f",
      "@@ -1,5 +1,5 @@",
      " line 1",
      "-line 2",
      "+line two",
      " line 3",
      " line 4",
      " line 5",
      "@@ -15,6 +15,5 @@",
      " line 15",
      " line 16",
      " line 17",
      "-line 18",
      " line 19",
      " line 20",
      "",
    ].join("\n"),
  );
});
