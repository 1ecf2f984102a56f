/** Who holds a plain lock: the ownership rules, one row per case. */

import { assertEquals } from "../helpers/assert.ts";
import type { LockRecord } from "../../src/locks/lockfile.ts";
import { type Claim, holds } from "../../src/locks/holder.ts";

function lock(over: Partial<LockRecord>): LockRecord {
  return {
    name: "x",
    lockId: "id-1",
    kind: "lock",
    owner: "alice",
    host: "box",
    agentId: "session:60-s60",
    pid: 60,
    bootId: "boot-1",
    acquiredMs: 0,
    fence: 1,
    ...over,
  };
}

function claim(over: Partial<Claim>): Claim {
  return {
    owner: "alice",
    host: "box",
    agentId: "session:60-s60",
    ancestors: [60],
    pid: 100,
    ...over,
  };
}

const rows: [string, LockRecord, Claim, boolean][] = [
  ["same owner, host and agent: the holder", lock({}), claim({}), true],
  ["another agent of the same owner: not the holder", lock({}), claim({ agentId: "b" }), false],
  ["another owner: not the holder", lock({}), claim({ owner: "bob" }), false],
  ["another host: not the holder", lock({}), claim({ host: "other" }), false],
  ["a guard's lock: nobody re-enters it", lock({ kind: "guard" }), claim({}), false],
  [
    "two empty agent ids (identities nobody knows): not the same holder",
    lock({ agentId: "" }),
    claim({ agentId: "" }),
    false,
  ],
  ["an empty agent id on the lock matches no caller", lock({ agentId: "" }), claim({}), false],
  [
    "an empty agent id of the caller matches no lock",
    lock({}),
    claim({ agentId: "" }),
    false,
  ],
];

for (const [name, l, c, expected] of rows) {
  Deno.test(`holder: ${name}`, () => {
    assertEquals(holds(l, c, false), expected);
  });
}
