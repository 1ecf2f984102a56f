/**
 * The tools of `lokt mcp`: their arguments, the description a model reads, and what each does.
 * Each returns the object the matching CLI command prints with `--json` and a one-line text.
 * None runs a shell command: commands belong to the agent's own shell (`lokt guard`).
 */

import { UsageError } from "../errors.ts";
import type { BlockedOutcome } from "../locks/acquire.ts";
import { formatDuration } from "../locks/describe.ts";
import type { Locks } from "../backends/locks.ts";
import { slotsProblem } from "../locks/slots.ts";
import { diagnose } from "../locks/why.ts";
import { freezeJson } from "../cli/commands/freeze.ts";
import { heldJson } from "../cli/commands/lock.ts";
import { unfreezeAnswer } from "../cli/commands/unfreeze.ts";
import { identityJson, listingJson, lockJson } from "../cli/commands/status.ts";
import { diagnosisJson } from "../cli/commands/why.ts";
import { expiryText, recordJson } from "../cli/render.ts";
import type { Session } from "../cli/session.ts";
import { blockerKey, waitingFor } from "../cli/waiting.ts";
import type { ArgSpecs, ArgValues } from "./args.ts";
import type { Holdings } from "./holdings.ts";

/** What a tool call gets besides its arguments. */
export interface ToolCall {
  session: Session;
  /** The chosen backend's lock operations, open for the server's life. */
  locks: Locks;
  holdings: Holdings;
  /** The client's `name/version`, once known. */
  client(): string | undefined;
  /** Aborted when the client cancels the call or the server shuts down. */
  signal: AbortSignal;
  /** Reports a wait's progress to the client (a no-op unless it asked for progress). */
  progress(message: string, waitedMs: number): void;
}

/** A tool's answer: the CLI's `--json` object and a short text. */
export interface ToolAnswer {
  structured: Record<string, unknown>;
  text: string;
}

/** One tool. */
export interface Tool {
  name: string;
  title: string;
  description: string;
  args: ArgSpecs;
  /** Changes nothing (status, why). */
  readOnly: boolean;
  run(args: ArgValues, call: ToolCall): Promise<ToolAnswer> | ToolAnswer;
}

const NAME = {
  type: "name",
  required: true,
  description:
    "the lock name: letters, digits, '.', '_' and '-', starting with a letter or digit " +
    '(e.g. "build", "db-migrate", "port-3000")',
} as const;

/** While the holder stays the same, a progress notification at most this often. */
export const PROGRESS_EVERY_MS = 10_000;

/** Sends progress: when the wait starts, when what blocks it changes, and every 10 s. */
function progressReporter(call: ToolCall, name: string) {
  let last: { key: string; atMs: number } | undefined;
  return (blocked: BlockedOutcome, waitedMs: number) => {
    const now = call.session.world.now();
    const key = blockerKey(blocked);
    if (last !== undefined && key === last.key && now - last.atMs < PROGRESS_EVERY_MS) return;
    last = { key, atMs: now };
    call.progress(`waiting: ${waitingFor(name, blocked, now)}`, waitedMs);
  };
}

const acquire: Tool = {
  name: "acquire",
  title: "Take a lock",
  description: "Take the lock NAME before using a shared resource (a build directory, a database " +
    "migration, a dev-server port, a `git push`), so that other agents, terminals and scripts " +
    "in this repository wait for you instead of colliding. The lock is held by this MCP server " +
    "for your session: it stays held until you call `release` (or `release_all`), and it is " +
    "released automatically when your session ends. Without `wait`, a lock held by someone " +
    "else fails at once with who holds it. With `wait: true`, you queue first come, first " +
    "served and the call returns once you hold it (progress notifications say who you wait " +
    "for; cancelling the call leaves the queue cleanly); add `timeout` to give up. Returns the " +
    "fence (a number that grows with every acquisition: pass it to anything that must reject a " +
    "stale writer), the lock id and the expiry. Release it as soon as you are done.",
  args: {
    name: NAME,
    ttl: {
      type: "duration",
      description: "lease length, renewed while this server runs: 500ms, 90s, 5m, 1h30m " +
        "(default: none; the lock lives exactly as long as this session)",
    },
    wait: {
      type: "boolean",
      description: "wait in line until the lock is free instead of failing (default: false)",
    },
    timeout: {
      type: "duration",
      description: "with wait: give up after this long (default: wait as long as it takes)",
    },
    slots: {
      type: "integer",
      minimum: 1,
      description: "how many holders NAME admits at once, for a pool (two test databases, " +
        "three build workers): each gets its own slot number, returned as `slot`. Every " +
        "holder of a name must ask for the same number (default: 1, a plain lock)",
    },
  },
  readOnly: false,
  async run(args, call) {
    const name = args.name as string;
    if (args.timeout !== undefined && args.wait !== true) {
      throw new UsageError("timeout only applies with wait", "add wait: true");
    }
    const slots = args.slots as number | undefined;
    const problem = slots === undefined ? undefined : slotsProblem(slots);
    if (problem !== undefined) {
      throw new UsageError(
        `${problem.replace("--slots", "slots")}, not ${slots}`,
        "slots: 2 lets two holders in at once",
      );
    }
    const outcome = await call.holdings.acquire(
      { name, ttlMs: args.ttl as number | undefined, slots },
      {
        wait: args.wait === true,
        timeoutMs: args.timeout as number | undefined,
        signal: call.signal,
        noWatch: call.session.world.env("LOKT_NO_WATCH") === "1",
        onBlocked: progressReporter(call, name),
      },
    );
    const now = call.session.world.now();
    const { lock } = outcome;
    const verb = outcome.kind === "reentered" ? "already holding" : "acquired";
    const slot = lock.slots === undefined ? "" : `slot ${lock.slot} of ${lock.slots}, `;
    return {
      structured: heldJson(name, outcome, now),
      text: `${verb} lock "${name}" (${slot}fence ${lock.fence}, ${expiryText(lock, now)}, ` +
        `lock id ${lock.lockId})`,
    };
  },
};

const release: Tool = {
  name: "release",
  title: "Release a lock",
  description: "Release the lock NAME that you took with `acquire`, as soon as you are done " +
    "with the resource, so that the next agent in line gets it at once. Only locks taken " +
    "through this session can be released here; another holder's lock is refused (ask the " +
    "user, and see `why`).",
  args: { name: NAME },
  readOnly: false,
  async run(args, call) {
    const name = args.name as string;
    const outcome = await call.holdings.release(name);
    const now = call.session.world.now();
    return {
      structured: { status: "released", name, lock: recordJson(outcome.lock, undefined, now) },
      text: `released lock "${name}"`,
    };
  },
};

const releaseAll: Tool = {
  name: "release_all",
  title: "Release all my locks",
  description: "Release every lock this session holds, for example when a task is finished or " +
    "abandoned. Locks of other sessions, agents and terminals are never touched.",
  args: {},
  readOnly: false,
  async run(_args, call) {
    const released = await call.holdings.releaseAll();
    const names = released.map((l) => l.name);
    return {
      structured: { released: names, count: names.length },
      text: names.length === 0
        ? "this session holds no locks"
        : `released ${names.length} lock(s): ${names.join(", ")}`,
    };
  },
};

const status: Tool = {
  name: "status",
  title: "Show locks",
  description: "List every lock and freeze in this repository with its holder (owner, agent, " +
    "MCP client), age, TTL, fence, liveness and queue length, plus who you are to lokt; or, " +
    "with NAME, that one lock in detail with its waiters. Read-only. The same data is the " +
    "resource lokt://status, which notifies subscribers when it changes.",
  args: { name: { ...NAME, required: false, description: "one lock to show in detail" } },
  readOnly: true,
  async run(args, call) {
    const name = args.name as string | undefined;
    if (name !== undefined) {
      const one = lockJson(await call.locks.nameStatus(name));
      if (one.holders !== undefined) {
        return {
          structured: one,
          text: `lock "${name}": ${one.held} of ${one.slots} slot(s) held`,
        };
      }
      return {
        structured: one,
        text: `lock "${name}": ${one.state} (${one.reason}), held by ${one.owner}@${one.host}` +
          `${one.client ? ` via ${one.client}` : ""}, fence ${one.fence}`,
      };
    }
    const all = await statusJson(call);
    const locks = all.locks as { name: string }[];
    const freezes = all.freezes as { name: string }[];
    return {
      structured: all,
      text: locks.length + freezes.length === 0
        ? "no locks"
        : `${locks.length} lock(s)${
          locks.length ? `: ${locks.map((l) => l.name).join(", ")}` : ""
        }` +
          `; ${freezes.length} freeze(s)${
            freezes.length ? `: ${freezes.map((f) => f.name).join(", ")}` : ""
          }`,
    };
  },
};

/** `status --json` as this server sees it: its identity includes the client. */
export async function statusJson(
  call: Pick<ToolCall, "session" | "client" | "locks">,
): Promise<Record<string, unknown>> {
  const identity = {
    ...identityJson(call.session),
    client: call.client() ?? "",
    server_pid: call.session.world.pid,
  };
  return listingJson(await call.locks.statusListing(), call.locks.info, identity);
}

const why: Tool = {
  name: "why",
  title: "Explain a lock",
  description: "Explain whether the lock NAME could be acquired by you now, and if not, why: " +
    "the freeze, the holder (owner, agent, MCP client, process and whether it is alive, age, " +
    "TTL), stale or corrupted lock files, the waiting queue and the fence, with suggested " +
    "actions. Use it when `acquire` fails or a wait takes long. Read-only.",
  args: { name: NAME },
  readOnly: true,
  async run(args, call) {
    const name = args.name as string;
    const asker = {
      claim: call.session.claim(),
      // This server's own hold counts as the caller's.
      enclosingLockId: call.holdings.lockOf(name)?.lockId,
    };
    const diagnosis = diagnose(await call.locks.whyObservation(name, asker));
    return {
      // Where the locks are: the lock root, or the database URL (password masked).
      structured: { ...diagnosisJson(diagnosis), root: call.locks.info.location },
      text: `${diagnosis.acquirable ? "acquirable" : "blocked"}: ` +
        diagnosis.reasons.map((r) => r.message).join("; "),
    };
  },
};

const freezeTool: Tool = {
  name: "freeze",
  title: "Freeze a lock name",
  description: "Operator action: refuse every new acquisition of NAME (by anyone: agents, " +
    "terminals, CI) until the freeze is lifted or its TTL runs out, for example during an " +
    "incident or a release. Locks already held are not touched. Only do this when the user " +
    "asks for it. Freezing again as the same owner extends it; a freeze of someone else is " +
    "refused.",
  args: {
    name: NAME,
    ttl: { type: "duration", required: true, description: "how long it lasts: 90s, 15m, 1h30m" },
    reason: {
      type: "text",
      required: true,
      description: "why, shown to everyone who is refused and recorded in the audit log",
    },
  },
  readOnly: false,
  async run(args, call) {
    const name = args.name as string;
    const id = call.session.identity();
    const outcome = await call.locks.freeze({
      name,
      owner: id.owner,
      host: call.session.actor().host,
      agentId: id.agentId,
      ttlMs: args.ttl as number,
      reason: args.reason as string,
    });
    return {
      structured: freezeJson(name, outcome, call.session.world.now()).json,
      text: `${outcome.kind === "frozen" ? "froze" : "extended the freeze of"} "${name}" for ` +
        `${formatDuration(args.ttl as number)}: ${args.reason}`,
    };
  },
};

const unfreezeTool: Tool = {
  name: "unfreeze",
  title: "Lift a freeze",
  description: "Operator action: lift the freeze on NAME. Lifting your own freeze needs no " +
    "more. Lifting someone else's needs `force: true` and a `reason`, which is recorded in the " +
    "audit log: only do it when the user asks for it.",
  args: {
    name: NAME,
    force: {
      type: "boolean",
      description: "lift it whoever set it, and remove an unreadable freeze file (needs reason)",
    },
    reason: {
      type: "text",
      description: "why; required with force, recorded in the audit log",
    },
  },
  readOnly: false,
  async run(args, call) {
    const name = args.name as string;
    const force = args.force === true;
    const reason = args.reason as string | undefined;
    if (force && reason === undefined) {
      throw new UsageError(
        "force overrides someone else's freeze: give a reason",
        'add reason: "..." (it is recorded in the audit log)',
      );
    }
    const owner = call.session.identity().owner;
    const outcome = await call.locks.unfreeze({ name, owner, force, reason });
    return unfreezeAnswer(
      { now: () => call.session.world.now(), actor: { owner } },
      name,
      outcome,
      `forced: ${reason}`,
    );
  },
};

/** Every tool, in the order `tools/list` shows them. */
export const TOOLS: readonly Tool[] = [
  acquire,
  release,
  releaseAll,
  status,
  why,
  freezeTool,
  unfreezeTool,
];
