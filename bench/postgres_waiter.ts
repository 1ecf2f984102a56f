/**
 * The waiting process of `bench/postgres.ts`: for each `go` line on stdin, waits in line for the
 * name, prints the moment it holds it (epoch milliseconds, sub-millisecond precision), releases.
 */

import { openPostgres } from "../src/backends/postgres/mod.ts";
import { acquireWaiting, isHeld } from "../src/backends/wait.ts";
import { platformProbe } from "../tests/helpers/cli.ts";
import type { Claim } from "../src/locks/holder.ts";

const [url, name] = Deno.args;
const probe = platformProbe();
const host = probe.machine().host;
const claim: Claim = { owner: "bench", host, agentId: "waiter", ancestors: [], pid: Deno.pid };
await using backend = await openPostgres(url, {
  namespace: "bench",
  probe,
  actor: { owner: "bench", host, pid: Deno.pid, agentId: "waiter" },
});
const encoder = new TextEncoder();
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffered = "";
for await (const chunk of lines) {
  buffered += chunk;
  while (buffered.includes("\n")) {
    buffered = buffered.slice(buffered.indexOf("\n") + 1);
    const got = await acquireWaiting(backend, { name, kind: "guard", claim }, {
      waiter: { pid: Deno.pid, host, owner: "bench", agentId: "waiter" },
    });
    const at = performance.timeOrigin + performance.now();
    if (!isHeld(got)) throw new Error(got.kind);
    await Deno.stdout.write(encoder.encode(`${at}\n`));
    await backend.release({ name, mode: "owner", claim, lockId: got.holder.record.lockId });
  }
}
