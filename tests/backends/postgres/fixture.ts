/** Shared pieces of the PostgreSQL backend's tests: identities and opening a backend. */

import { openPostgres, type PostgresBackend } from "../../../src/backends/postgres/mod.ts";
import { localClaim, probe, remoteClaim } from "../fixture.ts";

export { localClaim, probe, remoteClaim };

/** Opens the backend at `url` in `namespace` as this process. */
export function open(url: string, namespace = "test/ns"): Promise<PostgresBackend> {
  return openPostgres(url, {
    namespace,
    probe,
    actor: { owner: "tester", host: probe.machine().host, pid: Deno.pid, agentId: "t" },
    connectTimeoutMs: 5_000,
  });
}
