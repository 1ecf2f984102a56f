/**
 * A program that uses the library: it holds the lock `x` under the root given as the first
 * argument, with a 300 ms TTL (renewed every 150 ms), and prints one line for every callback,
 * until the file given as the second argument appears; then it releases and exits 0.
 */

import { acquire } from "../mod.ts";

const [root, go] = Deno.args;
const say = (line: string) => console.log(line);
const lock = await acquire("x", {
  root,
  ttl: 300,
  onLost: (name) => say(`lost ${name}`),
  onError: (error) => say(`error ${error.code}: ${error.message}`),
});
say(`held ${lock.fence}`);
for (;;) {
  try {
    Deno.statSync(go);
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 20));
  }
}
say(`released ${await lock.release()}`);
