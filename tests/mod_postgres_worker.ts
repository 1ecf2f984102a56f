/**
 * A program that uses the library on the backend its environment chooses: `ROUNDS` times, it
 * takes the lock `x` with `withLock` (waiting its turn) and, while holding it, marks the witness
 * directory given as the first argument: an `inside` file created exclusively (a second one at
 * the same time is an overlap, written down), one `FENCE PID` line appended, the mark removed.
 */

import { withLock } from "../mod.ts";

const [witness, rounds] = Deno.args;
const append = (line: string) =>
  Deno.writeTextFileSync(`${witness}/log`, `${line}\n`, { append: true });
for (let i = 0; i < Number(rounds); i++) {
  await withLock("x", { wait: true, timeout: "60s" }, async (lock) => {
    const inside = `${witness}/inside`;
    try {
      Deno.openSync(inside, { createNew: true, write: true }).close();
    } catch {
      append(`OVERLAP ${Deno.pid}`);
    }
    append(`${lock.fence} ${Deno.pid}`);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
    Deno.removeSync(inside);
  });
}
