/**
 * The crash suite on PostgreSQL: real `lokt` commands on a private cluster, each SIGKILLed at one
 * of the PostgreSQL engine's halt points (`postgres.section.*`: the name's lock held and its state
 * read; the commit sent, its answer not read; the commit answered) or after a random delay.
 *
 * A name's change is one transaction, so whatever the moment of death the database holds the
 * state before the command or after one of its transactions, never a part of one. The states
 * allowed for a scenario are learned from reference runs of the same command in namespaces of
 * their own: unkilled, and halted after each of its commits. After every kill the name must be
 * usable at once (no lock held by the dead connection: a rescuer's `lock` succeeds without
 * waiting out the operation timeout), and the rescuer's fence is above every earlier one.
 *
 * The database is read with an independent client (npm `postgres`), not with lokt's own.
 */

import type postgres from "npm:postgres@3.4.7";
import { oracle } from "../helpers/oracle.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { HALTING_MAIN, holderEnv, lokt, tempDir } from "../helpers/cli.ts";
import { RUN_ARGS } from "../../src/run_flags.ts";
import { type Cluster, noPostgres, startCluster } from "../helpers/postgres.ts";
import { sourcePoints } from "./driver.ts";

const NAME = "job";
/** The PostgreSQL engine's halt points, as `src/` names them. */
const POINTS = sourcePoints().filter((p) => p.startsWith("postgres."));
/** Random-delay kills per scenario. */
const DELAYS = 4;
/** A rescuer's lock that takes longer than this waited on a lock no one should hold. */
const RESCUE_MS = 5_000;

interface Scenario {
  id: string;
  /** Runs before the victim, in the case's namespace. */
  prepare?: (run: Runner) => Promise<void>;
  argv: string[];
  slots?: number;
}

type Runner = (agent: string, argv: string[], extra?: Record<string, string>) => Promise<{
  code: number;
  stderr: string;
}>;

const must = async (run: Runner, agent: string, argv: string[]) => {
  const r = await run(agent, argv);
  if (r.code !== 0) throw new Error(`setup ${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
};

const SCENARIOS: Scenario[] = [
  { id: "lock", argv: ["lock", NAME, "--ttl", "1h"] },
  {
    id: "takeover",
    prepare: async (run) => {
      await must(run, "other", ["lock", NAME, "--ttl", "1s"]);
      await new Promise((r) => setTimeout(r, 1_100));
    },
    argv: ["lock", NAME, "--ttl", "1h"],
  },
  {
    id: "reenter",
    prepare: (run) => must(run, "victim", ["lock", NAME, "--ttl", "1h"]),
    argv: ["lock", NAME, "--ttl", "2h"],
  },
  {
    id: "unlock",
    prepare: (run) => must(run, "victim", ["lock", NAME, "--ttl", "1h"]),
    argv: ["unlock", NAME],
  },
  {
    id: "force",
    prepare: (run) => must(run, "other", ["lock", NAME, "--ttl", "1h"]),
    argv: ["unlock", NAME, "--force"],
  },
  { id: "freeze", argv: ["freeze", NAME, "--ttl", "1h", "--reason", "crash"] },
  {
    id: "unfreeze",
    prepare: (run) => must(run, "victim", ["freeze", NAME, "--ttl", "1h"]),
    argv: ["unfreeze", NAME],
  },
  { id: "guard", argv: ["guard", NAME, "--ttl", "30s", "--", "true"] },
  {
    id: "slots",
    prepare: (run) => must(run, "other", ["lock", NAME, "--slots", "2", "--ttl", "1h"]),
    argv: ["lock", NAME, "--slots", "2", "--ttl", "1h"],
    slots: 2,
  },
];

/** A namespace's state with what differs between runs (ids, times, pids) left out. */
interface State {
  fence: number;
  frozen: string | null;
  holders: string[];
  tickets: number;
  audit: string[];
}

async function snapshot(db: postgres.Sql, namespace: string): Promise<State> {
  const [name] = await db`select fence::integer as fence, freeze_record->>'agent_id' as frozen
                           from lokt.names where namespace = ${namespace} and name = ${NAME}`;
  const holders = await db`select slot, record->>'agent_id' as agent, record->>'ttl_sec' as ttl
                           from lokt.holders where namespace = ${namespace} order by slot`;
  const [tickets] = await db`select count(*)::integer as n from lokt.tickets
                             where namespace = ${namespace}`;
  const audit = await db`select event, (line::jsonb)->>'agent_id' as agent from lokt.audit
                         where namespace = ${namespace} order by id`;
  return {
    fence: name?.fence ?? 0,
    frozen: name?.frozen ?? null,
    holders: holders.map((h) => `${h.slot}:${h.agent}:${h.ttl}`),
    tickets: tickets.n,
    audit: audit.map((a) => `${a.event}:${a.agent}`),
  };
}

const same = (a: State, b: State) => JSON.stringify(a) === JSON.stringify(b);

Deno.test({
  name: "postgres: lokt killed at every PostgreSQL halt point and at random moments leaves a " +
    "state before or after a whole transaction, never a held lock",
  ignore: noPostgres(),
  fn: async () => {
    assertEquals(POINTS.length, 3, `the PostgreSQL halt points: ${POINTS}`);
    await using cluster: Cluster = await startCluster();
    using dir = tempDir();
    const db = oracle(cluster, 4);
    let namespaces = 0;
    const runnerFor = (namespace: string): Runner => (agent, argv, extra = {}) =>
      lokt(argv, {
        env: holderEnv(dir.path, agent, {
          LOKT_BACKEND: cluster.url,
          LOKT_NAMESPACE: namespace,
          ...extra,
        }),
        entry: HALTING_MAIN,
      });
    const fresh = async (scenario: Scenario) => {
      const namespace = `crash/${scenario.id}/${++namespaces}`;
      const run = runnerFor(namespace);
      await scenario.prepare?.(run);
      return { namespace, run };
    };
    const hits = new Map<string, number>();
    const failures: string[] = [];
    let kills = 0;
    try {
      // The lokt schema exists before any reference is read.
      await must(runnerFor("crash/warm-up"), "other", ["exists", NAME]).catch(() => {});
      const runScenario = async (scenario: Scenario) => {
        // References: the state before, after each commit, and at the end.
        const allowed: State[] = [];
        const base = await fresh(scenario);
        allowed.push(await snapshot(db, base.namespace));
        const started = performance.now();
        const whole = await base.run("victim", scenario.argv);
        const durationMs = performance.now() - started;
        assertEquals(whole.code, 0, `${scenario.id}: ${whole.stderr}`);
        allowed.push(await snapshot(db, base.namespace));
        let commits = 0;
        for (let k = 1; k <= 6; k++) {
          const ref = await fresh(scenario);
          const r = await ref.run("victim", scenario.argv, {
            LOKT_HALT_AT: `postgres.section.committed:${k}`,
          });
          if (!r.stderr.includes("halted at")) break;
          commits = k;
          allowed.push(await snapshot(db, ref.namespace));
        }
        assert(commits >= 1, `${scenario.id}: no transaction committed`);

        const stops: Record<string, string>[] = [];
        for (const point of POINTS) {
          for (let n = 1; n <= commits; n++) stops.push({ LOKT_HALT_AT: `${point}:${n}` });
        }
        for (let i = 0; i < DELAYS; i++) stops.push({ delay: String(Math.random() * durationMs) });

        for (const stop of stops) {
          const label = `${scenario.id} ${stop.LOKT_HALT_AT ?? `after ${stop.delay} ms`}`;
          const c = await fresh(scenario);
          let r: { code: number; stderr: string };
          if (stop.delay === undefined) {
            r = await c.run("victim", scenario.argv, stop);
            if (!r.stderr.includes("halted at")) {
              failures.push(`${label}: the point was not reached (exit ${r.code}): ${r.stderr}`);
              continue;
            }
            hits.set(stop.LOKT_HALT_AT!.split(":")[0], 1);
          } else {
            const child = new Deno.Command(Deno.execPath(), {
              args: [...RUN_ARGS, HALTING_MAIN, ...scenario.argv],
              env: holderEnv(dir.path, "victim", {
                LOKT_BACKEND: cluster.url,
                LOKT_NAMESPACE: c.namespace,
              }),
              clearEnv: true,
              stdin: "null",
              stdout: "null",
              stderr: "piped",
            }).spawn();
            const timer = setTimeout(() => {
              try {
                child.kill("SIGKILL");
              } catch {
                // it has ended
              }
            }, Number(stop.delay));
            const out = await child.output();
            clearTimeout(timer);
            r = { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
          }
          kills++;
          const after = await snapshot(db, c.namespace);
          if (!allowed.some((state) => same(state, after))) {
            failures.push(
              `${label}: a state no whole transaction leaves: ${JSON.stringify(after)}; ` +
                `allowed: ${JSON.stringify(allowed)}`,
            );
            continue;
          }
          // The rescue a user would do: lift a freeze, break the holders (a `lock` holds for its
          // session, which lives on), take the name.
          if (after.frozen !== null) await must(c.run, "rescuer", ["unfreeze", NAME, "--force"]);
          if (after.holders.length > 0) {
            await must(c.run, "rescuer", ["unlock", NAME, "--force"]);
          }
          const rescueStarted = performance.now();
          const rescue = await c.run("rescuer", [
            "lock",
            NAME,
            "--slots",
            String(scenario.slots ?? 1),
            "--ttl",
            "1h",
          ]);
          const rescueMs = performance.now() - rescueStarted;
          if (rescue.code !== 0 || rescueMs > RESCUE_MS) {
            failures.push(
              `${label}: rescue exit ${rescue.code} in ${rescueMs} ms: ${rescue.stderr}`,
            );
            continue;
          }
          const rescued = await snapshot(db, c.namespace);
          if (
            !(rescued.fence > after.fence && rescued.holders.some((h) => h.includes(":rescuer:")))
          ) {
            failures.push(`${label}: after the rescue ${JSON.stringify(rescued)}`);
          }
        }
      };
      // Scenarios run two at a time, each in namespaces of its own.
      const queue = [...SCENARIOS];
      await Promise.all(
        [1, 2].map(async () => {
          for (let s = queue.shift(); s !== undefined; s = queue.shift()) await runScenario(s);
        }),
      );
    } finally {
      await db.end({ timeout: 1 });
    }
    console.log(`${kills} kills across ${SCENARIOS.length} scenarios`);
    assertEquals(failures, []);
    assertEquals([...hits.keys()].sort(), [...POINTS].sort());
  },
});
