/** Does liveness probing work here: is this process seen alive, a finished one dead? */

import { type ProcessProbe, processState } from "../identity/process.ts";
import { type Check, check } from "./check.ts";

/** What the probe answered. */
export interface ProbeAnswers {
  /** Can the probe read this process's start time? */
  selfStart?: string;
  /** State of this process by pid and its real start time. */
  self: string;
  /** State of this process's pid with a wrong start time (a recycled pid must look dead). */
  recycled: string;
  /** State of a process known to have exited; undefined if none could be started. */
  exited?: string;
  bootId?: string;
  pidNs?: string;
}

/** Asks the probe about this process, a recycled pid and an exited process. */
export function askProbe(probe: ProcessProbe, pid: number, exitedPid?: number): ProbeAnswers {
  const start = probe.info(pid)?.start;
  const machine = probe.machine();
  return {
    selfStart: start,
    self: processState(probe, pid, start),
    recycled: processState(probe, pid, `${start ?? "0"}-not-this`),
    exited: exitedPid === undefined ? undefined : processState(probe, exitedPid),
    bootId: machine.bootId,
    pidNs: machine.pidNs,
  };
}

/** Judges the answers. Pure. */
export function judgeLiveness(answers: ProbeAnswers, os: string): Check {
  const details = {
    self: answers.self,
    start_time_readable: answers.selfStart !== undefined,
    recycled_pid: answers.recycled,
    exited_process: answers.exited ?? "not tested",
    boot_id: answers.bootId ?? "",
    pid_namespace: answers.pidNs ?? "",
  };
  if (answers.self === "unknown" && answers.selfStart === undefined) {
    return check(
      "liveness",
      "warn",
      `process liveness cannot be probed on ${os}: locks are judged by their TTL alone`,
      { hint: "give every lock a --ttl", details },
    );
  }
  if (answers.self !== "alive") {
    return check("liveness", "fail", `this very process was judged ${answers.self}`, {
      hint: "report this as a bug, with `lokt doctor --json`",
      details,
    });
  }
  if (answers.exited !== undefined && answers.exited !== "dead") {
    return check("liveness", "fail", `an exited process was judged ${answers.exited}`, {
      hint: "report this as a bug, with `lokt doctor --json`",
      details,
    });
  }
  if (answers.selfStart === undefined || answers.recycled !== "dead") {
    return check(
      "liveness",
      "warn",
      "process start times cannot be read: a recycled pid could keep a dead lock alive",
      {
        hint: "give locks a --ttl; on Linux, check that /proc is mounted without hidepid",
        details,
      },
    );
  }
  return check(
    "liveness",
    "ok",
    "processes are told apart by pid and start time; exited processes are seen dead",
    { details },
  );
}
