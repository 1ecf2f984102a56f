/**
 * Many processes acquiring, waiting, renewing, releasing and dying on a few names at once, with
 * a witness file per name to catch two holders inside the critical section. The same storm with
 * the original tool's unsafe takeover must trip the witness, or the witness proves nothing.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { auditEvents, tempDir } from "../helpers/cli.ts";
import { ensureLayout, layoutOf, lockPath } from "../../src/locks/layout.ts";
import { readRecord } from "../../src/locks/store.ts";
import { LinuxProbe } from "../../src/identity/proc_linux.ts";
import { processState } from "../../src/identity/process.ts";
import {
  describeStorm,
  duplicateFences,
  NOT_LINUX,
  runStorm,
  type StormResult,
} from "./harness.ts";

const NAMES = ["alpha", "beta"];

Deno.test({
  name: "a mixed storm of acquire, release and takeover never lets two holders in",
  ignore: NOT_LINUX,
}, async () => {
  using dir = tempDir("lokt-races-");
  const root = `${dir.path}/root`;
  const witnessDir = `${dir.path}/witness`;
  const layout = layoutOf(root);
  ensureLayout(layout);
  Deno.mkdirSync(witnessDir);

  const acquisitions = () => {
    try {
      return Deno.readTextFileSync(layout.audit).split('"event":"acquire"').length - 1;
    } catch {
      return 0;
    }
  };
  // The work: 750 acquisitions, at least 3 of them takeovers of a dead holder's lock (or, should
  // takeovers stop happening, 7,500 acquisitions), however long a busy machine takes.
  const done = (r: StormResult) =>
    acquisitions() >= 750 && r.stats.takeovers >= 3 || acquisitions() >= 7_500;
  const result = await runStorm({
    workers: 12,
    until: done,
    killEveryMs: [150, 600],
    dieEveryMs: [200, 800],
    config: (agent) => ({
      root,
      names: NAMES,
      agent,
      witnessDir,
      holdMaxMs: 5,
      waitShare: 0.3,
      waitMaxMs: 50,
      renewShare: 0.2,
      denyShare: 0.1,
    }),
  });
  console.log(`storm, 12 workers on ${NAMES.length} names, ${describeStorm(result)}`);

  assertEquals(result.errors, [], "worker errors");
  assertEquals(result.overlaps, [], "two holders inside a critical section");
  assertEquals(duplicateFences(result), [], "a fence handed out twice");
  assertEquals(result.regressions, [], "a fence not above an earlier holder's");
  assert(acquisitions() >= 750, `only ${acquisitions()} acquisitions`);
  assert(result.stats.takeovers >= 3, `only ${result.stats.takeovers} takeovers`);
  const pruned = auditEvents(root).filter((e) => e.event === "auto-prune").length;
  assert(pruned >= result.stats.takeovers, `${pruned} auto-prune events`);

  // Whatever is left behind belongs to workers that were killed or quit holding.
  const probe = new LinuxProbe();
  const deadHolder = (pid: number, start?: string) => processState(probe, pid, start) === "dead";
  for (const name of NAMES) {
    const state = readRecord(lockPath(layout, name), Date.now());
    if (state.kind === "absent") continue;
    assertEquals(state.kind, "ok", `${name}: leftover record`);
    if (state.kind === "ok") {
      assert(deadHolder(state.lock.pid, state.lock.pidStart), `${name}: held by a live worker`);
    }
  }
  for (const entry of Deno.readDirSync(witnessDir)) {
    if (entry.name.startsWith(".")) continue; // a temporary file, maybe cut short by a kill
    const [pid, start] = Deno.readTextFileSync(`${witnessDir}/${entry.name}`).trim().split(" ");
    assert(deadHolder(Number(pid), start || undefined), `witness ${entry.name} of a live worker`);
  }
});

Deno.test({
  name: "the storm's witness catches two holders inside when the takeover is unsafe",
  ignore: NOT_LINUX,
}, async () => {
  using dir = tempDir("lokt-races-");
  const root = `${dir.path}/root`;
  const witnessDir = `${dir.path}/witness`;
  ensureLayout(layoutOf(root));
  Deno.mkdirSync(witnessDir);

  // Holders die often, so takeovers are frequent, with the same 0.2 ms stall between decide and
  // delete as in the takeover rounds (see takeover_test.ts). Three overlaps come within a few
  // dozen takeovers; the storm runs until it has seen them, or made a thousand takeovers.
  const witnessed = (r: StormResult) => r.overlaps.filter((o) => o.how === "inside").length;
  const result = await runStorm({
    workers: 12,
    until: (r) => witnessed(r) >= 3 || r.stats.takeovers >= 1_000,
    killEveryMs: [100, 300],
    dieEveryMs: [50, 150],
    config: (agent) => ({
      root,
      names: NAMES,
      agent,
      witnessDir,
      holdMaxMs: 5,
      waitShare: 0,
      waitMaxMs: 0,
      renewShare: 0,
      denyShare: 0,
      unsafeStallMs: 0.2,
    }),
  });
  const inside = witnessed(result);
  console.log(
    `unsafe storm: ${inside} witnessed overlaps, ${result.overlaps.length - inside} lost holds; ` +
      describeStorm(result),
  );
  assertEquals(result.errors, [], "worker errors");
  assert(
    inside >= 1,
    `the witness saw no two holders in ${result.stats.takeovers} takeovers: it cannot fail`,
  );
});
