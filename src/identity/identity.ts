import { HARNESS_PID_VARIABLES, HARNESS_SESSION_VARIABLES, recogniseHarness } from "./harness.ts";
import type { ProcessInfo, ProcessProbe } from "./process.ts";

/** A long-lived process that a plain `lock` names, so the lock dies with it. */
export interface Anchor {
  pid: number;
  /** Start-time token of `pid` (see {@link ProcessInfo.start}). */
  start: string;
  /** What the process is, for people: `"claude-code"`, `"session leader (bash)"`. */
  label: string;
}

/** Who is asking: the holder a lock records, and how lokt found out. */
export interface Identity {
  /** `LOKT_OWNER`, else the OS user name. */
  owner: string;
  /** Where {@link owner} came from, e.g. `"LOKT_OWNER"` or `"USER"`. */
  ownerSource: string;
  /**
   * The agent, terminal session or process this command runs for. Never empty: when nothing
   * tells who is asking, it names this lokt process alone (see {@link processScoped}).
   */
  agentId: string;
  /** How {@link agentId} was derived, for `doctor` and `status`. */
  agentSource: string;
  /**
   * True when no agent or session could be derived: {@link agentId} is then
   * `process:<pid>-<nonce>`, which matches no other caller (an unknown identity fails closed).
   */
  processScoped: boolean;
  /** The process a plain lock names by default, when one was derived. */
  anchor?: Anchor;
  /** Pids of this process's ancestors, nearest first (empty where unknown). */
  ancestors: number[];
}

/** What identity resolution reads. */
export interface IdentityInputs {
  env: (name: string) => string | undefined;
  probe: ProcessProbe;
  /** The pid of this lokt process. */
  pid: number;
  /**
   * What to detect: everything, only the terminal session (no agent harnesses), or nothing
   * (`LOKT_NO_DETECT=1`, `LOKT_NO_DETECT=harness`).
   */
  detect: "all" | "session" | "none";
  /** Looks up the OS user name when the environment does not tell. */
  userName: () => string | undefined;
  /** A fresh random token that tells this lokt process apart when nothing else can. */
  nonce: () => string;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function resolveOwner(inputs: IdentityInputs): { owner: string; source: string } {
  for (const variable of ["LOKT_OWNER", "USER", "LOGNAME", "USERNAME"]) {
    const value = nonEmpty(inputs.env(variable));
    if (value !== undefined) return { owner: value, source: variable };
  }
  const name = nonEmpty(inputs.userName());
  return name === undefined
    ? { owner: "unknown", source: "none" }
    : { owner: name, source: "user database" };
}

function token(info: ProcessInfo): string {
  return `${info.pid}-${info.start}`;
}

function anchorOf(info: ProcessInfo, label: string): Anchor {
  return { pid: info.pid, start: info.start, label };
}

function findHarness(
  probe: ProcessProbe,
  ancestors: ProcessInfo[],
  wanted?: string,
): { harness: string; info: ProcessInfo } | undefined {
  for (const info of ancestors) {
    let harness = recogniseHarness(info.comm);
    if (harness === undefined) {
      const argv = info.argv ?? probe.commandLine(info.pid);
      harness = recogniseHarness(info.comm, argv);
    }
    if (harness !== undefined && (wanted === undefined || harness === wanted)) {
      return { harness, info };
    }
  }
  return undefined;
}

/** The session anchor: the session leader (Linux), else the outermost process on our terminal. */
function sessionAnchor(
  self: ProcessInfo | undefined,
  ancestors: ProcessInfo[],
): { info: ProcessInfo; how: string; follow?: boolean } | undefined {
  if (self?.sid !== undefined) {
    const leader = ancestors.find((p) => p.pid === self.sid);
    if (leader !== undefined) return { info: leader, how: `session leader (${leader.comm})` };
    // lokt leads the session itself: a shell ran it with exec (`bash -c 'a; lokt ...'` execs its
    // last command, as do ssh and cron lines), so it has the pid and start time the session's
    // shell had, and the same session id. No lock may follow lokt's own process, though.
    if (self.sid === self.pid) {
      return {
        info: self,
        how: "session led by lokt itself (its shell ran it with exec)",
        follow: false,
      };
    }
  } else if (self?.tty !== undefined) {
    let outer: ProcessInfo | undefined;
    for (const p of ancestors) {
      if (p.tty !== self.tty) break;
      outer = p;
    }
    if (outer !== undefined) return { info: outer, how: `terminal ${self.tty} (${outer.comm})` };
  }
  const parent = ancestors[0];
  return parent === undefined
    ? undefined
    : { info: parent, how: `parent process (${parent.comm})` };
}

/** The identity of a caller nothing tells apart: this lokt process alone. */
function processScoped(
  inputs: IdentityInputs,
  base: Pick<Identity, "owner" | "ownerSource" | "ancestors">,
  why: string,
): Identity {
  return {
    ...base,
    agentId: `process:${inputs.pid}-${inputs.nonce()}`,
    agentSource: `this lokt process alone (${why})`,
    processScoped: true,
  };
}

/**
 * Derives the caller's identity. The agent id is the first that applies: `LOKT_AGENT_ID`; a
 * harness session variable; a harness process among the ancestors; the session. When none
 * applies (detection off, no process facts) the identity fails closed: it names this lokt
 * process alone, so it can never match another caller.
 */
export function resolveIdentity(inputs: IdentityInputs): Identity {
  const { owner, source: ownerSource } = resolveOwner(inputs);
  const explicit = nonEmpty(inputs.env("LOKT_AGENT_ID"));
  if (explicit !== undefined) {
    return {
      owner,
      ownerSource,
      agentId: explicit,
      agentSource: "LOKT_AGENT_ID",
      processScoped: false,
      ancestors: [],
    };
  }
  if (inputs.detect === "none") {
    return processScoped(
      inputs,
      { owner, ownerSource, ancestors: [] },
      "detection is off: LOKT_NO_DETECT",
    );
  }

  const self = inputs.probe.info(inputs.pid);
  const ancestors = inputs.probe.ancestors(inputs.pid);
  const base = { owner, ownerSource, ancestors: ancestors.map((p) => p.pid) };
  const known = { ...base, processScoped: false };

  const harnesses = inputs.detect === "all";
  for (const { variable, harness } of harnesses ? HARNESS_SESSION_VARIABLES : []) {
    const session = nonEmpty(inputs.env(variable));
    if (session === undefined) continue;
    const found = findHarness(inputs.probe, ancestors, harness);
    return {
      ...known,
      agentId: `${harness}:${session}`,
      agentSource: variable,
      anchor: found && anchorOf(found.info, harness),
    };
  }

  for (const { variable, harness } of harnesses ? HARNESS_PID_VARIABLES : []) {
    const pid = Number(nonEmpty(inputs.env(variable)));
    const info = ancestors.find((p) => p.pid === pid);
    if (info === undefined) continue;
    return {
      ...known,
      agentId: `${harness}:${token(info)}`,
      agentSource: `${variable} (${harness} process ${pid})`,
      anchor: anchorOf(info, harness),
    };
  }

  const harness = harnesses ? findHarness(inputs.probe, ancestors) : undefined;
  if (harness !== undefined) {
    return {
      ...known,
      agentId: `${harness.harness}:${token(harness.info)}`,
      agentSource: `${harness.harness} process ${harness.info.pid} among the ancestors`,
      anchor: anchorOf(harness.info, harness.harness),
    };
  }

  const session = sessionAnchor(self, ancestors);
  if (session !== undefined) {
    return {
      ...known,
      agentId: `session:${token(session.info)}`,
      agentSource: `${session.how}, pid ${session.info.pid}`,
      anchor: session.follow === false ? undefined : anchorOf(session.info, session.how),
    };
  }
  return processScoped(inputs, base, "no process facts on this platform");
}
