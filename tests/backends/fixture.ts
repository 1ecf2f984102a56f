/** Identities shared by the backends' tests: this process as a holder, and a holder elsewhere. */

import type { Claim } from "../../src/locks/holder.ts";
import type { ProcessProbe } from "../../src/identity/process.ts";
import { platformProbe } from "../helpers/cli.ts";

/** The probe of this machine. */
export const probe: ProcessProbe = platformProbe();

/** A claim of this process for agent `agentId`. */
export function localClaim(agentId: string): Claim {
  return {
    owner: "tester",
    host: probe.machine().host,
    agentId,
    ancestors: [],
    pid: Deno.pid,
    process: { pid: Deno.pid, source: "self" },
  };
}

/** A claim from another machine: only its lease can be judged here. */
export function remoteClaim(agentId: string): Claim {
  return { owner: "far", host: "another-host", agentId, ancestors: [], pid: 4242 };
}
