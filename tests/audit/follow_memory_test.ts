/**
 * Following a busy, rotating log keeps nothing: after a warm-up, what a full garbage collection
 * leaves on the heap and the open descriptors stay the same while many more lines go by. Measured
 * in a separate process (`follow_memory.ts`), where garbage collection can be forced, so that the
 * check does not depend on how V8 sizes its heap.
 */

import { assert, assertEquals } from "../helpers/assert.ts";

const PROBE = decodeURIComponent(new URL("./follow_memory.ts", import.meta.url).pathname);

interface Measure {
  heapUsed: number;
  fds?: number;
  lines: number;
}

Deno.test("following 20,000 lines across hundreds of rotations retains no memory and no descriptor", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", PROBE, "40", "500", "4"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const { warm, end } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    warm: Measure;
    end: Measure;
  };
  const kb = (bytes: number) => `${Math.round(bytes / 1024)} kB`;
  console.log(
    `heap after a full collection: ${kb(warm.heapUsed)} after ${warm.lines} lines, ` +
      `${kb(end.heapUsed)} after ${end.lines}; descriptors ${warm.fds} and ${end.fds}`,
  );
  // Keeping as little as 64 bytes for each of the 18,000 lines after the warm-up would exceed it.
  const boundBytes = 1024 * 1024;
  assert(
    end.heapUsed - warm.heapUsed < boundBytes,
    `the heap grew by ${kb(end.heapUsed - warm.heapUsed)} (bound ${kb(boundBytes)})`,
  );
  assertEquals(end.fds, warm.fds, "descriptors of log files and watchers");
});
