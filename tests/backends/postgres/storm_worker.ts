/**
 * One process of the PostgreSQL storm (`storm_test.ts`): takes the name again and again, by
 * waiting in line or by retrying on notifications, and writes `enter` and `exit` lines to the
 * shared witness file around each critical section. The storm kills some of these processes.
 */

import { openPostgres } from "../../../src/backends/postgres/mod.ts";
import { acquireWaiting, type HeldResult, isHeld } from "../../../src/backends/wait.ts";
import type { Backend } from "../../../src/backends/backend.ts";
import type { Claim } from "../../../src/locks/holder.ts";
import { setSabotage } from "../../../src/testing/sabotage.ts";
import { platformProbe } from "../../helpers/cli.ts";

/** What the storm tells a worker. */
export interface WorkerPlan {
  url: string;
  namespace: string;
  name: string;
  witness: string;
  id: number;
  cycles: number;
  mode: "wait" | "retry";
  sabotage: boolean;
}

async function retry(backend: Backend, name: string, claim: Claim): Promise<HeldResult> {
  using watch = await backend.watch(name);
  while (true) {
    const result = await backend.acquire({ name, kind: "guard", claim });
    if (isHeld(result)) return result;
    await watch.changed(100);
  }
}

async function main(plan: WorkerPlan): Promise<void> {
  if (plan.sabotage) setSabotage(["skip-name-lock"]);
  const probe = platformProbe();
  const host = probe.machine().host;
  const agentId = `worker-${plan.id}`;
  const claim: Claim = {
    owner: "storm",
    host,
    agentId,
    ancestors: [],
    pid: Deno.pid,
    process: { pid: Deno.pid, source: "self" },
  };
  await using backend = await openPostgres(plan.url, {
    namespace: plan.namespace,
    probe,
    actor: { owner: "storm", host, pid: Deno.pid, agentId },
  });
  using witness = Deno.openSync(plan.witness, { append: true });
  const write = (line: string) => witness.writeSync(new TextEncoder().encode(`${line}\n`));
  for (let i = 0; i < plan.cycles; i++) {
    const got = plan.mode === "wait"
      ? await acquireWaiting(backend, { name: plan.name, kind: "guard", claim }, {
        waiter: { pid: Deno.pid, host, owner: "storm", agentId },
      })
      : await retry(backend, plan.name, claim);
    if (!isHeld(got)) throw new Error(`worker ${plan.id}: ${got.kind}`);
    const { lockId, fence } = got.holder.record;
    write(`enter ${plan.id} ${fence} ${lockId}`);
    // The critical section's work: a few milliseconds in which nobody else may enter.
    await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 3)));
    write(`exit ${plan.id} ${fence} ${lockId}`);
    const released = await backend.release({ name: plan.name, mode: "owner", claim, lockId });
    if (released.kind !== "released") write(`lost ${plan.id} ${fence} ${lockId}`);
  }
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]) as WorkerPlan);
