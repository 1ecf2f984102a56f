/**
 * A worker of the slot storm (`slots_test.ts`): it takes one slot of a name with N slots through
 * the engine, again and again, and writes what it did to a shared enter/exit log, one line per
 * event, each appended with a single write (so lines from all workers are in the order the
 * kernel applied them). It runs until killed.
 *
 *   deno run -A tests/races/slots_worker.ts <config-json>
 *
 * Log lines (space-separated): `queued PID SEQ` once a wait has its ticket; `enter PID SLOT FENCE
 * SEQ` once it holds a slot (SEQ -1 when it did not queue); `exit PID SLOT FENCE` before it
 * releases; `lost PID SLOT FENCE` when the release found its hold gone; `requeued PID OLD NEW`
 * when its ticket vanished while it waited; `over PID LIVE` when
 * more live processes than N announced themselves inside; `error PID MESSAGE`.
 */

import { tryAcquire } from "../../src/locks/acquire.ts";
import type { LockContext } from "../../src/locks/context.ts";
import type { Claim } from "../../src/locks/holder.ts";
import { layoutOf } from "../../src/locks/layout.ts";
import { listQueue } from "../../src/locks/queue.ts";
import { release } from "../../src/locks/release.ts";
import { acquireWaiting } from "../../src/locks/wait.ts";
import { setSabotage } from "../../src/testing/sabotage.ts";
import { AuditWriter, DEFAULT_AUDIT_LIMITS } from "../../src/audit/writer.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { processState } from "../../src/identity/process.ts";

/** What a slot storm worker is told. */
export interface SlotsWorkerConfig {
  root: string;
  name: string;
  slots: number;
  /** The shared enter/exit log. */
  log: string;
  /** Where holders announce themselves (`<pid> <start>` files), to count who is inside. */
  insideDir: string;
  agent: string;
  /** Share of attempts that wait in the queue instead of trying once. */
  waitShare: number;
  holdMaxMs: number;
  /** Run the engine without the name's critical section for slotted attempts. */
  sabotage: boolean;
}

const config: SlotsWorkerConfig = JSON.parse(Deno.args[0]);
if (config.sabotage) setSabotage(["slots-unlocked"]);

const encoder = new TextEncoder();
const logFile = Deno.openSync(config.log, { append: true, create: true });
function log(line: string): void {
  logFile.writeSync(encoder.encode(line + "\n")); // O_APPEND, one write: never interleaved
}

const probe = new LinuxProbe();
const layout = layoutOf(config.root);
const host = probe.machine().host;
const start = probe.info(Deno.pid)?.start;
const claim: Claim = {
  owner: "tester",
  host,
  agentId: config.agent,
  process: { pid: Deno.pid, start, source: "self" },
  ancestors: [],
  pid: Deno.pid,
};
const ctx: LockContext = {
  layout,
  now: () => Date.now(),
  probe,
  audit: new AuditWriter(layout.audit, DEFAULT_AUDIT_LIMITS, (message) => console.error(message)),
  actor: { owner: "tester", host, pid: Deno.pid, agentId: config.agent },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Announces this holder inside and counts the live ones announced; more than N is reported. */
function announce(): string {
  const path = `${config.insideDir}/${Deno.pid}`;
  // Complete or absent for readers: written aside, then renamed into place.
  const temp = `${config.insideDir}/.${Deno.pid}`;
  Deno.writeTextFileSync(temp, `${Deno.pid} ${start ?? ""}`);
  Deno.renameSync(temp, path);
  let live = 0;
  for (const entry of Deno.readDirSync(config.insideDir)) {
    if (entry.name.startsWith(".")) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(`${config.insideDir}/${entry.name}`);
    } catch {
      continue; // its holder left meanwhile
    }
    const [pid, pidStart] = text.trim().split(" ");
    if (processState(probe, Number(pid), pidStart || undefined) === "alive") live++;
  }
  if (live > config.slots) log(`over ${Deno.pid} ${live}`);
  return path;
}

async function once(): Promise<void> {
  const request = {
    name: config.name,
    kind: "guard" as const,
    claim,
    slots: config.slots,
    denyEvent: null,
  };
  let seq = -1;
  let blocked = 0;
  const outcome = Math.random() < config.waitShare
    ? await acquireWaiting(ctx, request, {
      onBlocked: () => {
        // From the second blocked attempt on, the waiter has its ticket (it joins after the first).
        if (++blocked < 2) return;
        const mine = listQueue(ctx, config.name).filter((t) => t.pid === Deno.pid);
        if (mine.length > 1) log(`error ${Deno.pid} tickets ${mine.map((t) => t.seq).join(",")}`);
        if (mine.length === 1 && mine[0].seq !== seq) {
          if (seq !== -1) log(`requeued ${Deno.pid} ${seq} ${mine[0].seq}`);
          seq = mine[0].seq;
          log(`queued ${Deno.pid} ${seq}`);
        }
      },
    })
    : await tryAcquire(ctx, request);
  if (outcome.kind !== "acquired") {
    await sleep(Math.random() * 3);
    return;
  }
  const { lock } = outcome;
  const slot = lock.slot ?? 1;
  log(`enter ${Deno.pid} ${slot} ${lock.fence} ${seq}`);
  const inside = announce();
  await sleep(Math.random() * config.holdMaxMs);
  Deno.removeSync(inside);
  log(`exit ${Deno.pid} ${slot} ${lock.fence}`);
  const released = await release(ctx, {
    name: config.name,
    mode: "owner",
    lockId: lock.lockId,
    slot: lock.slot,
    slots: lock.slots,
    claim,
  });
  if (released.kind !== "released") log(`lost ${Deno.pid} ${slot} ${lock.fence}`);
}

// Whatever escapes (a rejected promise nobody awaited) is logged before the process dies of it.
globalThis.addEventListener("unhandledrejection", (event) => {
  log(`error ${Deno.pid} unhandled: ${String(event.reason).replaceAll("\n", " ")}`);
});
globalThis.addEventListener("error", (event) => {
  log(`error ${Deno.pid} uncaught: ${String(event.error).replaceAll("\n", " ")}`);
});

for (;;) {
  try {
    await once();
  } catch (error) {
    log(`error ${Deno.pid} ${String(error).replaceAll("\n", " ")}`);
    await sleep(5);
  }
}
