/** The shared backend's keeper, over a stand-in backend: what it records survives its stop. */

import { assert, assertEquals } from "../../helpers/assert.ts";
import type { Backend } from "../../../src/backends/backend.ts";
import { SharedKeeper } from "../../../src/backends/shared/locks.ts";
import type { AuditEvent } from "../../../src/audit/event.ts";
import type { LockRecord } from "../../../src/locks/lockfile.ts";
import { probe } from "../fixture.ts";

const ACTOR = { owner: "tester", host: "here", pid: Deno.pid, agentId: "t" };

const LOCK: LockRecord = {
  name: "x",
  lockId: "0123456789abcdef0123456789abcdef",
  kind: "guard",
  owner: "tester",
  host: "here",
  agentId: "t",
  pid: Deno.pid,
  acquiredMs: 0,
  ttlMs: 30_000,
  expiresMs: 30_000,
  fence: 1,
};

Deno.test("a keeper's stop waits for its lost event to be stored, which is slower than the loss", async () => {
  const stored: AuditEvent[] = [];
  const backend = {
    renew: () => Promise.resolve({ kind: "lost" }),
    observe: () => Promise.reject(new Error("not needed")),
    audit: {
      // Stored a while after it is appended, as over a network.
      append: (events: readonly AuditEvent[]) =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            stored.push(...events);
            resolve();
          }, 200)
        ),
    },
  } as unknown as Backend;
  const lost = Promise.withResolvers<void>();
  const keeper = new SharedKeeper(backend, LOCK, {
    onLost: () => lost.resolve(),
    onError: () => {},
  }, { probe, actor: ACTOR });
  keeper.start({ pid: 1 });
  await lost.promise;
  assert(keeper.lost !== undefined);
  await keeper.stop();
  assertEquals(stored.map((e) => e.event), ["lost"]);
});
