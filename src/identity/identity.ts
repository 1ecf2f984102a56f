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
  /**
   * Why a plain lock follows no process although lokt looked for one (the session's leader has
   * exited), for `lokt lock` to say so.
   */
  unanchored?: string;
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

/**
 * What to detect, from `LOKT_NO_DETECT`: everything unless it is set; `harness` keeps only the
 * terminal session; any other value but `0` turns detection off.
 */
export function detectionOf(env: (name: string) => string | undefined): IdentityInputs["detect"] {
  const value = env("LOKT_NO_DETECT")?.trim();
  if (value === undefined || value === "" || value === "0") return "all";
  return value === "harness" ? "session" : "none";
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

/** What lokt's session says about who is asking. */
type SessionFacts =
  /** The session's leader runs: it names the session and, unless it is lokt, anchors locks. */
  | { kind: "leader"; info: ProcessInfo; how: string; follow: boolean }
  /** The leader has exited (a detached job): the session id alone names it, nothing anchors. */
  | { kind: "leaderless"; sid: number };

/**
 * The session lokt runs in, from its session id: the leader among lokt's ancestors; lokt itself
 * when its shell ran it with exec; the leader running elsewhere when the parent chain was cut;
 * else a session without a leader. Undefined when the session is unknown (no process facts, or
 * session 0, which no process leads).
 */
function sessionOf(
  probe: ProcessProbe,
  self: ProcessInfo | undefined,
  ancestors: ProcessInfo[],
): SessionFacts | undefined {
  const sid = self?.sid;
  if (self === undefined || sid === undefined || sid <= 0) return undefined;
  // lokt leads the session itself: a shell ran it with exec (`bash -c 'a; lokt ...'` execs its
  // last command, as do ssh and cron lines), so it has the pid and start time the session's
  // shell had, and the same session id. No lock may follow lokt's own process, though.
  if (sid === self.pid) {
    return {
      kind: "leader",
      info: self,
      how: "session led by lokt itself (its shell ran it with exec)",
      follow: false,
    };
  }
  const ancestor = ancestors.find((p) => p.pid === sid);
  if (ancestor !== undefined) {
    return {
      kind: "leader",
      info: ancestor,
      how: `session leader (${ancestor.comm})`,
      follow: true,
    };
  }
  // The parent chain was cut (nohup, `&` from a shell that has returned, an agent's background
  // job): the process lokt hangs under is about to go, but the leader may still run. The kernel
  // does not reuse a pid while it names a live session, so a process with that pid leading a
  // session is the leader.
  const leader = probe.info(sid);
  if (leader !== undefined && !leader.zombie && leader.sid === sid) {
    return {
      kind: "leader",
      info: leader,
      how: `session leader (${leader.comm}), no longer an ancestor`,
      follow: true,
    };
  }
  return { kind: "leaderless", sid };
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

  const session = sessionOf(inputs.probe, self, ancestors);
  switch (session?.kind) {
    case "leader":
      return {
        ...known,
        agentId: `session:${token(session.info)}`,
        agentSource: `${session.how}, pid ${session.info.pid}`,
        anchor: session.follow ? anchorOf(session.info, session.how) : undefined,
      };
    case "leaderless":
      return {
        ...known,
        agentId: `session:${session.sid}`,
        agentSource: `session ${session.sid}, whose leader has exited`,
        unanchored: `the leader of lokt's session, pid ${session.sid}, has exited`,
      };
    case undefined:
      return processScoped(inputs, base, "no session could be found");
  }
}
