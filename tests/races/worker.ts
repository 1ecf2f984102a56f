/**
 * A worker process of the multi-process race tests. It drives the lock engine directly (no CLI),
 * takes commands on stdin and reports JSON lines on stdout (see `protocol.ts`).
 *
 *   deno run -A tests/races/worker.ts race <config-json>         one safe attempt per round
 *   deno run -A tests/races/worker.ts unsafe-race <config-json>  the original's unsafe takeover
 *   deno run -A tests/races/worker.ts storm <config-json>        acquire/hold/release loop
 *
 * Workers are long-lived: Deno's start-up takes tens of milliseconds, far longer than a lock
 * operation, so a process per attempt would never race with anything.
 */

import { type AcquireOutcome, type AcquireRequest, tryAcquire } from "../../src/locks/acquire.ts";
import { type LockContext, newLockId } from "../../src/locks/context.ts";
import type { Claim } from "../../src/locks/holder.ts";
import { layoutOf, lockPath } from "../../src/locks/layout.ts";
import type { LockRecord } from "../../src/locks/lockfile.ts";
import { release } from "../../src/locks/release.ts";
import { renew } from "../../src/locks/renew.ts";
import { isExpired } from "../../src/locks/stale.ts";
import { publishNew, readRecord } from "../../src/locks/store.ts";
import { acquireWaiting } from "../../src/locks/wait.ts";
import { reclaimUnused } from "../../src/locks/reclaim.ts";
import { setHaltHook } from "../../src/testing/halt.ts";
import { setSabotage } from "../../src/testing/sabotage.ts";
import { AuditWriter, DEFAULT_AUDIT_LIMITS } from "../../src/audit/writer.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { processState } from "../../src/identity/process.ts";
import {
  emptyStats,
  EXIT_WHILE_HOLDING,
  type JournalEntry,
  type RaceConfig,
  type Report,
  type ResultReport,
  type StormConfig,
  type StormStats,
} from "./protocol.ts";

const encoder = new TextEncoder();

function report(message: Report): void {
  const bytes = encoder.encode(JSON.stringify(message) + "\n");
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function* stdinLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of Deno.stdin.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      yield buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

interface Self {
  ctx: LockContext;
  claim: Claim;
  probe: LinuxProbe;
  start: string | undefined;
}

function setUp(root: string, agent: string, audit = DEFAULT_AUDIT_LIMITS): Self {
  const probe = new LinuxProbe();
  const layout = layoutOf(root);
  const host = probe.machine().host;
  const start = probe.info(Deno.pid)?.start;
  const claim: Claim = {
    owner: "tester",
    host,
    agentId: agent,
    process: { pid: Deno.pid, start, source: "self" },
    ancestors: [],
    pid: Deno.pid,
  };
  const ctx: LockContext = {
    layout,
    now: () => Date.now(),
    probe,
    audit: new AuditWriter(layout.audit, audit, (message) => console.error(message)),
    actor: { owner: "tester", host, pid: Deno.pid, agentId: agent },
  };
  return { ctx, claim, probe, start };
}

function guardRequest(self: Self, name: string): AcquireRequest {
  return { name, kind: "guard", claim: self.claim, ttlMs: 60_000, denyEvent: null };
}

// ---------------------------------------------------------------------------------------------
// race / unsafe-race

async function safeAttempt(self: Self, cfg: RaceConfig): Promise<Omit<ResultReport, "passedAt">> {
  const outcome = await tryAcquire(self.ctx, guardRequest(self, cfg.name));
  if (outcome.kind !== "acquired") {
    return { type: "result", round: 0, won: false, outcome: outcome.kind };
  }
  return {
    type: "result",
    round: 0,
    won: true,
    outcome: outcome.kind,
    lockId: outcome.lock.lockId,
    fence: outcome.lock.fence,
    replaced: outcome.replaced?.kind === "stale" ? outcome.replaced.lock.lockId : undefined,
  };
}

/**
 * The original tool's takeover: read the record, decide it is stale (TTL out or process dead),
 * delete the path, create a new record. Nothing ties the delete to the record that was judged,
 * so a racer that decided on the old record can delete the record another racer just created.
 */
function unsafeTakeover(
  self: Self,
  name: string,
  stallMs: number,
): { kind: "won"; lock: LockRecord; replaced?: string } | { kind: "lost"; outcome: string } {
  const { ctx } = self;
  const path = lockPath(ctx.layout, name);
  const state = readRecord(path, ctx.now());
  let replaced: string | undefined;
  let fence = 1;
  if (state.kind === "ok") {
    const old = state.lock;
    const stale = isExpired(old, ctx.now()) ||
      processState(ctx.probe, old.pid, old.pidStart) === "dead";
    if (!stale) return { kind: "lost", outcome: "held" };
    // A real process is preempted or slowed here now and then; a short busy stall stands in
    // for that (a timer would yield, and then every racer would decide before anyone deletes).
    if (stallMs > 0) {
      const until = performance.now() + Math.random() * stallMs;
      while (performance.now() < until) {
        // stalled
      }
    }
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    replaced = old.lockId;
    fence = old.fence + 1;
  } else if (state.kind !== "absent") {
    return { kind: "lost", outcome: state.kind };
  }
  const lock = newRecord(self, name, fence);
  if (!publishNew(ctx, path, lock)) return { kind: "lost", outcome: "held" };
  return { kind: "won", lock, replaced };
}

function unsafeAttempt(self: Self, cfg: RaceConfig): Omit<ResultReport, "passedAt"> {
  const taken = unsafeTakeover(self, cfg.name, cfg.unsafeDelayMs ?? 0);
  if (taken.kind === "lost") {
    return { type: "result", round: 0, won: false, outcome: taken.outcome };
  }
  const { lock, replaced } = taken;
  return {
    type: "result",
    round: 0,
    won: true,
    outcome: "won",
    lockId: lock.lockId,
    fence: lock.fence,
    replaced,
  };
}

function newRecord(self: Self, name: string, fence: number): LockRecord {
  const now = Date.now();
  const machine = self.probe.machine();
  return {
    name,
    lockId: newLockId(),
    kind: "guard",
    owner: self.claim.owner,
    host: self.claim.host,
    agentId: self.claim.agentId,
    pid: Deno.pid,
    pidStart: self.start,
    pidSource: "self",
    bootId: machine.bootId,
    pidNs: machine.pidNs,
    acquiredMs: now,
    ttlMs: 60_000,
    expiresMs: now + 60_000,
    fence,
  };
}

async function race(cfg: RaceConfig, unsafe: boolean): Promise<void> {
  const self = setUp(cfg.root, cfg.agent);
  using gate = Deno.openSync(cfg.gate, { read: true });
  report({ type: "ready", pid: Deno.pid });
  for await (const line of stdinLines()) {
    const [command, arg = ""] = line.trim().split(" ");
    if (command === "arm") {
      const round = Number(arg);
      report({ type: "armed", round });
      // The coordinator holds the gate exclusively until every racer is armed; unlocking it
      // wakes all the shared waiters at once.
      gate.lockSync(false);
      const passedAt = preciseNow();
      gate.unlockSync();
      try {
        const result = unsafe ? unsafeAttempt(self, cfg) : await safeAttempt(self, cfg);
        report({ ...result, round, passedAt });
      } catch (error) {
        report({
          type: "result",
          round,
          won: false,
          outcome: "error",
          passedAt,
          error: String(error),
        });
      }
    } else if (command === "release") {
      const outcome = await release(self.ctx, {
        name: cfg.name,
        mode: "owner",
        claim: self.claim,
        lockId: arg,
      });
      report({ type: "released", lockId: arg, outcome: outcome.kind });
    } else if (command === "exit") {
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// storm

class Storm {
  readonly cfg: StormConfig;
  readonly self: Self;
  stats: StormStats = emptyStats();
  stopping = false;
  dieHolding = false;
  readonly #journal?: Deno.FsFile;

  constructor(cfg: StormConfig) {
    this.cfg = cfg;
    this.self = setUp(cfg.root, cfg.agent, cfg.audit);
    if (cfg.journal) {
      this.#journal = Deno.openSync(cfg.journal, { append: true, create: true });
    }
    setSabotage(cfg.sabotage ?? []);
    // The engine's halt points double as a count of the fence files it removed.
    setHaltHook((point) => {
      if (point === "mutex.retired") this.stats.reclaims++;
    });
  }

  /** One line, one write, after the change: a kill in between only loses the entry. */
  journal(entry: JournalEntry): void {
    this.#journal?.writeSync(encoder.encode(JSON.stringify(entry) + "\n"));
  }

  flush(type: "stats" | "done"): void {
    report({ type, stats: this.stats });
    this.stats = emptyStats();
  }

  async run(): Promise<void> {
    const names = this.cfg.names;
    while (!this.stopping) {
      if (Math.random() < (this.cfg.sweepShare ?? 0)) {
        await reclaimUnused(this.self.ctx);
        this.stats.sweeps++;
      }
      const name = names[Math.floor(Math.random() * names.length)];
      const outcome = await this.attempt(name);
      if (outcome === undefined) {
        await sleep(Math.random() * 2); // back off a little, as a retrying script would
        continue;
      }
      await this.hold(name, outcome.lock);
    }
  }

  async attempt(name: string): Promise<{ lock: LockRecord; replaced?: string } | undefined> {
    this.stats.attempts++;
    const req = guardRequest(this.self, name);
    let outcome: AcquireOutcome | undefined;
    if (this.cfg.unsafeStallMs !== undefined) {
      const taken = unsafeTakeover(this.self, name, this.cfg.unsafeStallMs);
      if (taken.kind === "lost") return undefined;
      outcome = { kind: "acquired", lock: taken.lock };
      if (taken.replaced) {
        // only the lock id of what was replaced matters to the counters and the journal
        const stale = { ...taken.lock, lockId: taken.replaced };
        outcome.replaced = { kind: "stale", lock: stale, verdict: undefined as never };
      }
    } else if (Math.random() < this.cfg.waitShare) {
      const timeoutMs = 1 + Math.random() * this.cfg.waitMaxMs;
      const waited = await acquireWaiting(this.self.ctx, req, { timeoutMs });
      if (waited.kind === "timeout") {
        this.stats.waitTimeouts++;
        return undefined;
      }
      if (waited.kind === "aborted") throw new Error("wait aborted without a signal");
      outcome = waited;
    } else {
      const denyEvent = Math.random() < this.cfg.denyShare ? "deny" : null;
      outcome = await tryAcquire(this.self.ctx, { ...req, denyEvent });
    }
    if (outcome.kind === "held" || outcome.kind === "queued") return undefined;
    if (outcome.kind !== "acquired") throw new Error(`unexpected outcome ${outcome.kind}`);
    const replaced = outcome.replaced?.kind === "stale" ? outcome.replaced.lock.lockId : undefined;
    const { lock } = outcome;
    this.journal({
      op: "acquire",
      name,
      lock_id: lock.lockId,
      fence: lock.fence,
      replaced: replaced ?? null,
    });
    this.stats.acquired++;
    if (replaced !== undefined) this.stats.takeovers++;
    (this.stats.fences[name] ??= []).push(lock.fence);
    return { lock, replaced };
  }

  async hold(name: string, lock: LockRecord): Promise<void> {
    const { ctx, claim } = this.self;
    const entered = this.enterWitness(name);
    if (entered) this.checkFence(name, lock.fence);
    if (this.dieHolding) Deno.exit(EXIT_WHILE_HOLDING); // no release, witness left behind
    await sleep(Math.random() * this.cfg.holdMaxMs);
    if (Math.random() < this.cfg.renewShare) {
      const renewed = await renew(ctx, { name, lockId: lock.lockId });
      if (renewed.kind !== "renewed") {
        report({
          type: "overlap",
          name,
          how: "lost",
          detail: `renew of a live hold found ${renewed.kind}`,
        });
      } else {
        this.journal({ op: "renew", name, lock_id: lock.lockId });
        this.stats.renewed++;
      }
    }
    if (entered) this.leaveWitness(name);
    const released = await release(ctx, { name, mode: "owner", claim, lockId: lock.lockId });
    if (released.kind !== "released") {
      report({
        type: "overlap",
        name,
        how: "lost",
        detail: `release of a live hold found ${released.kind}`,
      });
      return;
    }
    this.journal({ op: "release", name, lock_id: lock.lockId });
  }

  witnessPath(name: string): string {
    return `${this.cfg.witnessDir}/${name}`;
  }

  get witnessText(): string {
    return `${Deno.pid} ${this.self.start ?? ""}\n`;
  }

  /**
   * Claims the witness of `name`: created by link, so it is complete or absent. A witness that
   * names a live process is an overlap; one that names a dead process was left by a holder that
   * was killed, and is cleared. False when the witness could not be claimed.
   */
  enterWitness(name: string): boolean {
    const path = this.witnessPath(name);
    const temp = `${this.cfg.witnessDir}/.${name}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(temp, this.witnessText);
    try {
      for (let tries = 0; tries < 100; tries++) {
        try {
          Deno.linkSync(temp, path);
          return true;
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        }
        let text: string;
        try {
          text = Deno.readTextFileSync(path);
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) continue;
          throw error;
        }
        const [pidText, start] = text.trim().split(" ");
        const pid = Number(pidText);
        if (pid === Deno.pid || processState(this.self.probe, pid, start || undefined) !== "dead") {
          report({
            type: "overlap",
            name,
            how: "inside",
            detail: `entered while pid ${pid} was inside`,
          });
          return false;
        }
        this.stats.deadWitnesses++;
        try {
          Deno.removeSync(path);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      throw new Error(`could not claim the witness of ${name}`);
    } finally {
      Deno.removeSync(temp);
    }
  }

  /**
   * Alone in the critical section (the witness says so), compares `fence` with the highest fence
   * an earlier holder of `name` recorded, and records it: the file is replaced by rename, so a
   * holder killed meanwhile leaves the old value or the new one.
   */
  checkFence(name: string, fence: number): void {
    const path = `${this.cfg.witnessDir}/.fence-${name}`;
    let after = 0;
    try {
      after = Number(Deno.readTextFileSync(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (fence <= after) report({ type: "fence", name, fence, after });
    const temp = `${path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(temp, String(Math.max(fence, after)));
    Deno.renameSync(temp, path);
  }

  leaveWitness(name: string): void {
    const path = this.witnessPath(name);
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (text !== this.witnessText) {
      report({
        type: "overlap",
        name,
        how: "replaced",
        detail: `own witness replaced by ${JSON.stringify(text)}`,
      });
      return;
    }
    Deno.removeSync(path);
  }
}

async function storm(cfg: StormConfig): Promise<void> {
  const worker = new Storm(cfg);
  const started = Promise.withResolvers<void>();
  (async () => {
    for await (const line of stdinLines()) {
      const command = line.trim();
      if (command === "go") started.resolve();
      if (command === "die-holding") worker.dieHolding = true;
      if (command === "stop") break;
    }
    // "stop" or the coordinator went away
    worker.stopping = true;
    started.resolve();
  })();
  report({ type: "ready", pid: Deno.pid });
  await started.promise;
  const timer = setInterval(() => worker.flush("stats"), 200);
  try {
    await worker.run();
  } finally {
    clearInterval(timer);
  }
  worker.flush("done");
}

// ---------------------------------------------------------------------------------------------

if (import.meta.main) {
  const [mode, configText] = Deno.args;
  try {
    const config = JSON.parse(configText ?? "{}");
    if (mode === "race" || mode === "unsafe-race") await race(config, mode === "unsafe-race");
    else if (mode === "storm") await storm(config);
    else throw new Error(`unknown mode ${mode}`);
  } catch (error) {
    report({
      type: "error",
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
    Deno.exit(1);
  }
  Deno.exit(0);
}
