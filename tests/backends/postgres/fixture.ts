/** Shared pieces of the PostgreSQL backend's tests: identities and opening a backend. */

import type { Claim } from "../../../src/locks/holder.ts";
import { openPostgres, type PostgresBackend } from "../../../src/backends/postgres/mod.ts";
import type { ProcessProbe } from "../../../src/identity/process.ts";
import { platformProbe } from "../../helpers/cli.ts";

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

/** Opens the backend at `url` in `namespace` as this process. */
export function open(url: string, namespace = "test/ns"): Promise<PostgresBackend> {
  return openPostgres(url, {
    namespace,
    probe,
    actor: { owner: "tester", host: probe.machine().host, pid: Deno.pid, agentId: "t" },
    connectTimeoutMs: 5_000,
  });
}
