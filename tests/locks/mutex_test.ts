/**
 * The per-name kernel lock: it counts only on the file the path names, a new fence file starts
 * from the root's fence floor, and retiring a fence file folds its counter into the floor first.
 */

import { assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { ensureLayout, fenceFloorPath, fencePath, layoutOf } from "../../src/locks/layout.ts";
import { withNameMutex } from "../../src/locks/mutex.ts";
import { setSabotage } from "../../src/testing/sabotage.ts";

const counter = (n: number) => `${String(n).padStart(20, "0")}\n`;

function root(dir: string) {
  const layout = layoutOf(dir);
  ensureLayout(layout);
  return layout;
}

Deno.test("a process that waited for the kernel lock of a removed fence file locks the new one", async () => {
  for (const sabotage of [false, true]) {
    using dir = tempDir();
    const layout = root(dir.path);
    const path = fencePath(layout, "x");
    Deno.writeTextFileSync(path, counter(3));
    // Stands in for a reclaimer: holds the lock of the file, then removes it; a newcomer then
    // creates the file again and writes its counter.
    const reclaimer = Deno.openSync(path, { read: true, write: true });
    reclaimer.lockSync(true);
    setSabotage(sabotage ? ["skip-verify"] : []);
    try {
      // The open happens before withNameMutex's first await: the waiter has the old file.
      const waiter = withNameMutex(layout, "x", (m) => m.readFence());
      Deno.removeSync(path);
      Deno.writeTextFileSync(path, counter(8));
      reclaimer.close();
      assertEquals(
        await waiter,
        sabotage ? 3 : 8,
        sabotage
          ? "without the check, it works on the removed file"
          : "it locked and read the file the path names now",
      );
    } finally {
      setSabotage([]);
    }
  }
});

Deno.test("a new fence file reads as the floor; a written counter reads as itself", async () => {
  using dir = tempDir();
  const layout = root(dir.path);
  assertEquals(await withNameMutex(layout, "fresh", (m) => m.readFence()), 0, "no floor yet");
  Deno.writeTextFileSync(fenceFloorPath(layout), counter(7));
  assertEquals(await withNameMutex(layout, "fresh", (m) => m.readFence()), 7);
  // A name's own counter bounds its own fences; the floor only stands in for a missing one.
  Deno.writeTextFileSync(fencePath(layout, "used"), counter(3));
  assertEquals(await withNameMutex(layout, "used", (m) => m.readFence()), 3);
});

Deno.test("retiring a fence file raises the floor to its counter, never lowers it, then removes it", async () => {
  using dir = tempDir();
  const layout = root(dir.path);
  const floor = () => Number(Deno.readTextFileSync(fenceFloorPath(layout)));
  await withNameMutex(layout, "a", (m) => {
    m.writeFence(5);
    assertEquals(m.retire(), true);
    assertMatch(assertThrows(() => m.writeFence(6), Error).message, /was retired/);
  });
  assertEquals(floor(), 5);
  await withNameMutex(layout, "b", (m) => (m.writeFence(2), m.retire()));
  assertEquals(floor(), 5, "a lower counter leaves the floor as it is");
  assertEquals([...Deno.readDirSync(layout.fences)].map((e) => e.name), [".floor"]);
  assertEquals(Deno.readTextFileSync(fenceFloorPath(layout)), counter(5), "fixed width");
  assertEquals(await withNameMutex(layout, "a", (m) => m.readFence()), 5);
});
