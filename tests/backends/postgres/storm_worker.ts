/**
 * One process of the PostgreSQL storm (`storm_test.ts`): takes the name again and again, by
 * waiting in line or by retrying on notifications, and writes `enter` and `exit` lines to the
 * shared witness file around each critical section. The storm kills some of these processes
 * and crashes the server once: an operation that meets the crash is repeated, an acquisition
 * with the same lock id (so that one whose answer was lost finds its hold).
 */

import { BackendUnavailableError, openPostgres } from "../../../src/backends/postgres/mod.ts";
import { newLockId } from "../../../src/locks/context.ts";
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

/**
 * Runs `op` again while the database is unavailable (restarting), for up to 20 s; `onFault` is
 * told of each retry.
 */
async function persist<T>(op: () => Promise<T>, onFault: () => void): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (error) {
      if (!(error instanceof BackendUnavailableError) || attempt >= 400) throw error;
      onFault();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function retry(
  backend: Backend,
  name: string,
  claim: Claim,
  lockId: string,
): Promise<HeldResult> {
  using watch = await backend.watch(name);
  while (true) {
    const result = await backend.acquire({ name, kind: "guard", claim, lockId });
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
  using witness = Deno.openSync(plan.witness, { append: true });
  const write = (line: string) => witness.writeSync(new TextEncoder().encode(`${line}\n`));
  const fault = () => write(`fault ${plan.id}`);
  await using backend = await persist(() =>
    openPostgres(plan.url, {
      namespace: plan.namespace,
      probe,
      actor: { owner: "storm", host, pid: Deno.pid, agentId },
    }), fault);
  for (let i = 0; i < plan.cycles; i++) {
    const id = newLockId();
    const got = await persist(
      () =>
        plan.mode === "wait"
          ? acquireWaiting(backend, { name: plan.name, kind: "guard", claim, lockId: id }, {
            waiter: { pid: Deno.pid, host, owner: "storm", agentId },
          })
          : retry(backend, plan.name, claim, id),
      fault,
    );
    if (!isHeld(got)) throw new Error(`worker ${plan.id}: ${got.kind}`);
    const { lockId, fence } = got.holder.record;
    write(`enter ${plan.id} ${fence} ${lockId}`);
    // The critical section's work: a few milliseconds in which nobody else may enter.
    await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 3)));
    write(`exit ${plan.id} ${fence} ${lockId}`);
    const released = await persist(
      () => backend.release({ name: plan.name, mode: "owner", claim, lockId }),
      fault,
    );
    if (released.kind !== "released") write(`lost ${plan.id} ${fence} ${lockId}`);
  }
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]) as WorkerPlan);
