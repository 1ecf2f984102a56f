/**
 * The crash suite's scenarios: each prepares a lock root, names the lokt command to kill and
 * what that command may change, and lists the halt points it must reach. Preparation runs the
 * real CLI in-process (or the library, for steps the CLI does not offer), with the clock moved
 * where a record must already be expired.
 */

import { run } from "../../src/cli/run.ts";
import { Session } from "../../src/cli/session.ts";
import type { World } from "../../src/cli/world.ts";
import { encodeEvent } from "../../src/audit/event.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { freeze } from "../../src/locks/freeze.ts";
import { encodeLock } from "../../src/locks/lockfile.ts";
import { joinQueue } from "../../src/locks/queue.ts";
import { type CliResult, deadPid, holderEnv } from "../helpers/cli.ts";
import type { Allowed } from "./invariants.ts";

/** The agent whose command is killed; `holder` prepares records, `rescuer` recovers. */
export const VICTIM = "victim";
/** The agent that holds the name before the victim runs. */
export const HOLDER = "holder";
/** The agent that clears the name after the kill. */
export const RESCUER = "rescuer";

const HOUR_MS = 3_600_000;
/** A start token no process has: the dead pid stays dead even if the kernel reuses it. */
const BOGUS_START = "1";
const probe = new LinuxProbe();

/** A root for one case, with in-process lokt for preparing and recovering. */
export class Kit {
  readonly root: string;
  readonly name: string;
  readonly random: () => number;

  constructor(root: string, name: string, random: () => number) {
    this.root = root;
    this.name = name;
    this.random = random;
  }

  /** The environment of `agent`'s lokt in this root (rotated audit files are all kept). */
  env(agent: string, extra: Record<string, string> = {}): Record<string, string> {
    return holderEnv(this.root, agent, { LOKT_AUDIT_KEEP: "100000", ...extra });
  }

  /** A world for `agent` whose clock is `offsetMs` away from now. */
  world(
    agent: string,
    offsetMs = 0,
    extra: Record<string, string> = {},
  ): { world: World; output: () => { stdout: string; stderr: string } } {
    const env = this.env(agent, extra);
    let stdout = "";
    let stderr = "";
    const world: World = {
      env: (name) => env[name],
      envObject: () => ({ ...env }),
      cwd: () => this.root,
      now: () => Date.now() + offsetMs,
      pid: Deno.pid,
      os: Deno.build.os,
      probe: () => probe,
      userName: () => "tester",
      out: (text) => void (stdout += text),
      err: (text) => void (stderr += text),
      errIsTerminal: () => false,
    };
    return { world, output: () => ({ stdout, stderr }) };
  }

  /** Runs the CLI in-process as `agent`. */
  async lokt(
    agent: string,
    args: string[],
    options: { offsetMs?: number; env?: Record<string, string> } = {},
  ): Promise<CliResult> {
    const { world, output } = this.world(agent, options.offsetMs, options.env);
    const code = await run(args, world);
    return { code, ...output() };
  }

  /** Runs the CLI in-process and fails unless it exits 0. */
  async must(agent: string, args: string[], offsetMs = 0): Promise<CliResult> {
    const result = await this.lokt(agent, args, { offsetMs });
    if (result.code !== 0) {
      throw new Error(`setup: lokt ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    }
    return result;
  }

  /** Freezes the name as `agent` through the library, with the clock `offsetMs` away. */
  async freeze(agent: string, ttlMs: number, offsetMs = 0): Promise<void> {
    const session = new Session(this.world(agent, offsetMs).world);
    const ctx = session.lockContext();
    const outcome = await freeze(ctx, {
      name: this.name,
      owner: session.identity().owner,
      host: probe.machine().host,
      agentId: agent,
      ttlMs,
      reason: "crash test",
    });
    if (outcome.kind !== "frozen") throw new Error(`setup: freeze gave ${outcome.kind}`);
  }

  /** A stale lock of `holder`: an expired TTL, or a process that is gone. */
  async staleLock(): Promise<void> {
    if (this.random() < 0.5) {
      await this.must(HOLDER, ["lock", this.name, "--ttl", "1s"], -HOUR_MS);
      return;
    }
    const machine = probe.machine();
    Deno.writeTextFileSync(
      `${this.root}/locks/${this.name}.json`,
      encodeLock({
        name: this.name,
        lockId: crypto.randomUUID().replaceAll("-", ""),
        kind: this.random() < 0.5 ? "lock" : "guard",
        owner: "tester",
        host: machine.host,
        agentId: HOLDER,
        pid: await deadPid(),
        pidStart: BOGUS_START,
        pidSource: "flag",
        bootId: machine.bootId,
        pidNs: machine.pidNs,
        acquiredMs: Date.now() - 60_000,
        fence: 41,
      }),
    );
    Deno.writeTextFileSync(`${this.root}/fences/${this.name}`, `${"41".padStart(20, "0")}\n`);
  }

  /** Does the name have a waiter's ticket? */
  queued(): boolean {
    try {
      return [...Deno.readDirSync(`${this.root}/queue/${this.name}`)].length > 0;
    } catch {
      return false;
    }
  }

  /** Creates the root's directories, as any lokt command would. */
  async init(): Promise<void> {
    await this.must(HOLDER, ["lock", "init-probe"]);
    await this.must(HOLDER, ["unlock", "init-probe"]);
  }

  /** Fills `audit.log` with `lines` events, and sometimes leaves an older rotated file. */
  fillAudit(lines: number): void {
    const event = (i: number) =>
      encodeEvent({
        ts: Date.now() - 1000 + i,
        event: "deny",
        name: "filler",
        actor: { owner: "tester", host: "filler", pid: 1, agentId: HOLDER },
        extra: { seq: i, pad: "x".repeat(40) },
      });
    if (this.random() < 0.5) {
      Deno.writeTextFileSync(`${this.root}/audit.log.1`, event(-1));
    }
    let text = "";
    for (let i = 0; i < lines; i++) text += event(i);
    Deno.writeTextFileSync(`${this.root}/audit.log`, text, { append: true });
  }
}

/** What a prepared case runs and allows. */
export interface Prepared {
  /** lokt arguments of the killed command. */
  argv: string[];
  /** Extra environment for it. */
  env?: Record<string, string>;
  /** What it may change. */
  allowed: Omit<Allowed, "name" | "agent">;
  /** Its exit code when it is not killed. */
  exitCode: number;
  /**
   * Runs beside the command, in this process: waits for a moment of the command's run and
   * acts then (until `exited()` says the command is gone).
   */
  during?: (exited: () => boolean) => Promise<void>;
}

/** One scenario. */
export interface Scenario {
  id: string;
  /** What the killed command does, for the report. */
  summary: string;
  /** Halt points (`point` or `point:n`) the command must reach; each is tried in turn. */
  points: string[];
  prepare(kit: Kit): Prepared | Promise<Prepared>;
}

const AUDIT_APPEND = ["audit.append.before-write", "audit.append.after-write"];
const PUBLISH = [
  "mutex.fence.before-write",
  "mutex.fence.after-write",
  "store.temp.created",
  "store.publish.after-temp-write",
  "store.publish.after-link",
];
const REPLACE = ["store.temp.created", "store.replace.before-rename", "store.replace.after-rename"];
const REMOVE = ["store.remove.before", "store.remove.after"];

const NONE = {};
const CREATE_LOCK = { lock: { create: true }, freeze: NONE };

/** Every scenario, in report order. */
export const SCENARIOS: Scenario[] = [
  {
    id: "lock",
    summary: "lock a free name",
    points: [...PUBLISH, "acquire.published", ...AUDIT_APPEND],
    prepare(kit) {
      const ttl = kit.random() < 0.5 ? ["--ttl", "1h"] : [];
      return { argv: ["lock", kit.name, ...ttl], allowed: CREATE_LOCK, exitCode: 0 };
    },
  },
  {
    id: "takeover",
    summary: "lock over a stale lock",
    points: [
      "acquire.takeover.judged",
      ...REMOVE,
      "audit.append.before-write",
      "audit.append.after-write",
      "mutex.fence.after-write",
      "store.publish.after-link",
      "acquire.published",
      "audit.append.before-write:2",
    ],
    async prepare(kit) {
      await kit.init();
      await kit.staleLock();
      return {
        argv: ["lock", kit.name, "--ttl", "1h"],
        allowed: { lock: { remove: true, create: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "reenter",
    summary: "lock again a name one holds",
    points: [...REPLACE, "acquire.reentered", ...AUDIT_APPEND],
    async prepare(kit) {
      await kit.must(VICTIM, ["lock", kit.name, "--ttl", "1h"]);
      return {
        argv: ["lock", kit.name, "--ttl", "2h"],
        allowed: { lock: { rewrite: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "unlock",
    summary: "unlock one's own lock",
    points: [...REMOVE, "release.removed", ...AUDIT_APPEND],
    async prepare(kit) {
      await kit.must(VICTIM, ["lock", kit.name]);
      return {
        argv: ["unlock", kit.name],
        allowed: { lock: { remove: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "unlock-waited",
    summary: "unlock a name another waited for in vain (reclaims its queue and fence file)",
    points: [
      "reclaim.queue-removed",
      "mutex.floor.before-write",
      "mutex.floor.after-write",
      "mutex.retired",
    ],
    async prepare(kit) {
      // A waiter that gave up leaves the name's queue directory empty behind it.
      await kit.must(VICTIM, ["lock", kit.name]);
      const waited = await kit.lokt(HOLDER, ["lock", kit.name, "--wait", "--timeout", "200ms"]);
      if (waited.code !== 2) throw new Error(`setup: the wait exited ${waited.code}`);
      return {
        argv: ["unlock", kit.name],
        allowed: { lock: { remove: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "unlock-force",
    summary: "unlock --force another's live lock",
    points: [...REMOVE, "release.removed", ...AUDIT_APPEND],
    async prepare(kit) {
      await kit.must(HOLDER, ["lock", kit.name]);
      return {
        argv: ["unlock", kit.name, "--force"],
        allowed: { lock: { remove: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "break-stale",
    summary: "unlock --break-stale a stale lock",
    points: [...REMOVE, "release.removed", ...AUDIT_APPEND],
    async prepare(kit) {
      await kit.init();
      await kit.staleLock();
      return {
        argv: ["unlock", kit.name, "--break-stale"],
        allowed: { lock: { remove: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "freeze",
    summary: "freeze a name",
    points: [
      "store.publish.after-temp-write",
      "store.publish.after-link",
      "freeze.published",
      ...AUDIT_APPEND,
    ],
    prepare(kit) {
      return {
        argv: ["freeze", kit.name, "--ttl", "1h", "--reason", "crash test"],
        allowed: { lock: NONE, freeze: { create: true } },
        exitCode: 0,
      };
    },
  },
  {
    id: "freeze-extend",
    summary: "freeze again a name one froze",
    points: [...REPLACE, "freeze.published"],
    async prepare(kit) {
      await kit.freeze(VICTIM, HOUR_MS);
      return {
        argv: ["freeze", kit.name, "--ttl", "2h", "--reason", "crash test"],
        allowed: { lock: NONE, freeze: { rewrite: true } },
        exitCode: 0,
      };
    },
  },
  {
    id: "unfreeze",
    summary: "unfreeze a name one froze",
    points: [...REMOVE, "unfreeze.removed", ...AUDIT_APPEND],
    async prepare(kit) {
      await kit.freeze(VICTIM, HOUR_MS);
      return {
        argv: ["unfreeze", kit.name],
        allowed: { lock: NONE, freeze: { remove: true } },
        exitCode: 0,
      };
    },
  },
  {
    id: "freeze-expire",
    summary: "lock a name whose freeze ran out",
    points: ["store.remove.before", "freeze.expired-removed", "audit.append.before-write"],
    async prepare(kit) {
      await kit.freeze(HOLDER, HOUR_MS, -2 * HOUR_MS);
      return {
        argv: ["lock", kit.name],
        allowed: { lock: { create: true }, freeze: { remove: true } },
        exitCode: 0,
      };
    },
  },
  {
    id: "rotate",
    summary: "lock with a full audit log (rotation)",
    points: [
      "audit.rotate.locked",
      "audit.rotate.after-link",
      "audit.rotate.after-remove",
      "audit.append.before-write",
      "audit.append.after-write",
    ],
    async prepare(kit) {
      await kit.init();
      kit.fillAudit(12);
      return {
        argv: ["lock", kit.name],
        env: { LOKT_AUDIT_MAX_BYTES: "2048" },
        allowed: CREATE_LOCK,
        exitCode: 0,
      };
    },
  },
  {
    id: "wait-timeout",
    summary: "lock --wait on a held name until the timeout",
    points: ["queue.join.written", "queue.left", "audit.append.before-write:2"],
    async prepare(kit) {
      await kit.must(HOLDER, ["lock", kit.name]);
      return {
        argv: ["lock", kit.name, "--wait", "--timeout", "1500ms", "--quiet"],
        allowed: { lock: NONE, freeze: NONE },
        exitCode: 2,
      };
    },
  },
  {
    id: "wait-handoff",
    summary: "lock --wait, queued until the holder unlocks (killed in its rehearsal too)",
    points: [
      "queue.join.written",
      "acquire.published",
      "queue.left",
      "audit.append.before-write:2",
      "rehearsal.queue.join.written",
      "rehearsal.acquire.published",
      "rehearsal.release.removed",
    ],
    async prepare(kit) {
      await kit.must(HOLDER, ["lock", kit.name]);
      return {
        argv: ["lock", kit.name, "--wait", "--timeout", "20s", "--quiet"],
        allowed: { lock: { remove: true, create: true }, freeze: NONE },
        exitCode: 0,
        during: async (exited) => {
          // The holder lets go only once the victim is queued, however slow its start-up.
          while (!exited() && !kit.queued()) await new Promise((r) => setTimeout(r, 10));
          if (!exited()) await kit.must(HOLDER, ["unlock", kit.name]);
        },
      };
    },
  },
  {
    id: "dead-waiter",
    summary: "lock a name with a dead waiter queued",
    points: ["queue.pruned-dead", "acquire.published"],
    async prepare(kit) {
      await kit.init();
      const session = new Session(kit.world(HOLDER).world);
      joinQueue(session.lockContext(), kit.name, {
        pid: await deadPid(),
        start: BOGUS_START,
        owner: "tester",
        agentId: HOLDER,
      });
      return { argv: ["lock", kit.name], allowed: CREATE_LOCK, exitCode: 0 };
    },
  },
  {
    id: "guard",
    summary: "guard -- true (acquire, record the command, release)",
    points: ["guard.spawned", "acquire.published", "renew.replaced", "release.removed", ...REMOVE],
    prepare(kit) {
      return {
        argv: ["guard", kit.name, "--", "true"],
        allowed: { lock: { create: true, removeOwn: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
  {
    id: "guard-renew",
    summary: "guard --ttl 600ms -- sleep 4 (renews its lease)",
    points: ["renew.replaced:2", "store.replace.before-rename:2", "store.replace.after-rename:2"],
    prepare(kit) {
      return {
        // The command outlives the second renewal even on a busy machine; a kill ends the
        // guard early (the orphaned sleep then keeps the lock live until it ends).
        argv: ["guard", kit.name, "--ttl", "600ms", "--", "sleep", "4"],
        allowed: { lock: { create: true, removeOwn: true }, freeze: NONE },
        exitCode: 0,
      };
    },
  },
];
