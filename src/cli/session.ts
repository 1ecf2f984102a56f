/**
 * The composition root of one CLI invocation: the world, plus the lock root, identity and lock
 * context, each built on first use so that a command pays only for what it needs.
 */

import type { Actor } from "../audit/event.ts";
import { auditLimits, AuditWriter } from "../audit/writer.ts";
import type { Locks } from "../backends/locks.ts";
import { openLocks } from "../backends/select.ts";
import { UsageError } from "../errors.ts";
import { detectionOf, type Identity, resolveIdentity } from "../identity/identity.ts";
import type { LockContext } from "../locks/context.ts";
import type { Claim } from "../locks/holder.ts";
import { type Layout, layoutOf } from "../locks/layout.ts";
import { phase } from "../phases.ts";
import { findRoot, type RootInfo } from "../root.ts";
import type { World } from "./world.ts";

/** One CLI invocation's lazily built state. */
export class Session {
  readonly world: World;
  #root?: RootInfo;
  #identity?: Identity;
  #context?: LockContext;
  #locks?: Promise<Locks>;

  constructor(world: World) {
    this.world = world;
  }

  /** The lock root (not created). */
  root(): RootInfo {
    if (this.#root) return this.#root;
    this.#root = findRoot((name) => this.world.env(name), this.world.cwd());
    phase("root");
    return this.#root;
  }

  layout(): Layout {
    return layoutOf(this.root().path);
  }

  identity(): Identity {
    if (this.#identity) return this.#identity;
    this.#identity = resolveIdentity({
      env: (name) => this.world.env(name),
      probe: this.world.probe(),
      pid: this.world.pid,
      detect: detectionOf((name) => this.world.env(name)),
      userName: () => this.world.userName(),
      nonce: () => crypto.randomUUID().slice(0, 8),
    });
    phase("identity");
    return this.#identity;
  }

  actor(): Actor {
    const id = this.identity();
    return {
      owner: id.owner,
      host: this.world.probe().machine().host,
      pid: this.world.pid,
      agentId: id.agentId,
    };
  }

  /** The lock context, writing audit events unless `audit` is false (read-only commands). */
  lockContext(): LockContext {
    if (this.#context) return this.#context;
    const layout = this.layout();
    this.#context = {
      layout,
      now: () => this.world.now(),
      probe: this.world.probe(),
      audit: new AuditWriter(
        layout.audit,
        auditLimits((name) => this.world.env(name)),
        (message) => this.warn(message),
      ),
      actor: this.actor(),
    };
    phase("context");
    return this.#context;
  }

  /**
   * The lock operations of the chosen backend (files unless `LOKT_BACKEND` or `lokt.jsonc` says
   * otherwise), opened on first use; {@link close} closes them.
   */
  locks(): Promise<Locks> {
    return this.#locks ??= openLocks({
      env: (name) => this.world.env(name),
      cwd: this.world.cwd(),
      workTree: this.root().workTree,
      root: this.root().path,
      ctx: () => this.lockContext(),
      readCtx: () => this.readOnlyContext(),
      probe: this.world.probe(),
      actor: () => this.actor(),
      warn: (message) => this.warn(message),
    });
  }

  /** Closes what {@link locks} opened (a database connection); holds stay. */
  async close(): Promise<void> {
    const opening = this.#locks;
    if (opening === undefined) return;
    this.#locks = undefined;
    const locks = await opening.catch(() => undefined);
    await locks?.close();
  }

  /** A lock context that never writes the audit log, for strictly read-only commands. */
  readOnlyContext(): LockContext {
    return {
      layout: this.layout(),
      now: () => this.world.now(),
      probe: this.world.probe(),
      audit: { append() {} },
      actor: { owner: "", host: "", pid: this.world.pid, agentId: "" },
    };
  }

  /**
   * This process as the holder: the caller's owner and agent id, and the process itself, so that
   * the lock lives exactly as long as this process (a guard; the MCP server).
   */
  selfClaim(): Claim {
    const { owner, host, agentId } = this.claim();
    const pid = this.world.pid;
    return {
      owner,
      host,
      agentId,
      process: { pid, start: this.world.probe().info(pid)?.start, source: "self" },
      ancestors: [],
      pid,
    };
  }

  /**
   * The caller as a plain-lock holder. With `pid`, the lock follows that process; otherwise it
   * follows the derived harness or session process, if any.
   */
  claim(pid?: number): Claim {
    const id = this.identity();
    const probe = this.world.probe();
    let process: Claim["process"];
    if (pid !== undefined) {
      if (pid <= 0) throw new UsageError(`--pid: ${pid} is not a process id`);
      const info = probe.info(pid);
      if (info === undefined && probe.exists(pid) === false) {
        throw new UsageError(`--pid: no process ${pid} is running`);
      }
      process = { pid, start: info?.start, source: "flag" };
    } else if (id.anchor !== undefined) {
      process = { pid: id.anchor.pid, start: id.anchor.start, source: "anchor" };
    }
    const pidSelf = this.world.pid;
    let ancestors: number[] | undefined = id.ancestors.length > 0 ? id.ancestors : undefined;
    return {
      owner: id.owner,
      host: probe.machine().host,
      agentId: id.agentId,
      process,
      // Read only when a lock taken with --pid must be matched against the caller's ancestry.
      get ancestors() {
        return ancestors ??= probe.ancestors(pidSelf).map((p) => p.pid);
      },
      pid: pidSelf,
    };
  }

  /** `LOKT_LOCK_ID` from an enclosing guard, if any. */
  enclosingLockId(): string | undefined {
    const id = this.world.env("LOKT_LOCK_ID");
    return id === undefined || id === "" ? undefined : id;
  }

  out(text: string): void {
    this.world.out(text);
  }

  err(text: string): void {
    this.world.err(text);
  }

  warn(message: string): void {
    this.world.err(`warning: ${message}\n`);
  }

  /** Prints `value` as pretty JSON on stdout. */
  json(value: unknown): void {
    this.world.out(JSON.stringify(value, null, 2) + "\n");
  }
}
