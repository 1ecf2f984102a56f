/** Which file events wake a waiter. */

import { assertEquals } from "../helpers/assert.ts";
import { eventPaths } from "../../src/locks/wait.ts";

Deno.test("a waiter matches file events under the root's real path too (macOS: /tmp is /private/tmp)", () => {
  const real = (dir: string) => dir.startsWith("/tmp/") ? `/private${dir}` : undefined;
  const files = ["/tmp/r/locks/build.json", "/tmp/r/freezes/build.json"];
  assertEquals([...eventPaths(files, real)].sort(), [
    "/private/tmp/r/freezes/build.json",
    "/private/tmp/r/locks/build.json",
    "/tmp/r/freezes/build.json",
    "/tmp/r/locks/build.json",
  ]);
  assertEquals([...eventPaths(["/srv/r/locks/x.json"], (dir) => dir)], ["/srv/r/locks/x.json"]);
});
