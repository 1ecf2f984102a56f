/**
 * The backends an end-to-end test runs against, so that one test body covers both: files (a
 * temporary `LOKT_ROOT`) and PostgreSQL (one private cluster per test file, started by the first
 * test that needs it and stopped when the file's tests end; a fresh `LOKT_NAMESPACE` per test, so
 * tests never see each other's names). Without PostgreSQL binaries its tests are ignored, with a
 * message saying why.
 *
 * ```ts
 * backendTest("unlock releases the caller's lock", async (place) => {
 *   const a = place.env("agent-a");
 *   assertEquals((await lokt(["lock", "x"], { env: a })).code, 0);
 *   ...
 * });
 * ```
 *
 * or, by hand: `for (const backend of BACKENDS) Deno.test({ name: `${backend.name}: ...`,
 * ignore: backend.ignore, fn: async () => { await using place = await backend.open(); ... } })`.
 *
 * A place inspects the backend the way lokt does, through the backend seam (`observe`, the audit
 * store), never by reading one backend's files, so the same assertion holds on both.
 */

import type { Backend, NameState } from "../../src/backends/backend.ts";
import { openFiles } from "../../src/backends/files/mod.ts";
import { openPostgres } from "../../src/backends/postgres/mod.ts";
import type { AuditFilter } from "../../src/audit/reader.ts";
import type { LockRecord } from "../../src/locks/lockfile.ts";
import { holderEnv, platformProbe, tempDir } from "./cli.ts";
import { type Cluster, noPostgres, startCluster } from "./postgres.ts";

/** The backends' names, as test names begin with them. */
export type BackendName = "files" | "postgres";

/** One test's own backend: fresh and empty, removed at the end of the test. */
export interface Place extends AsyncDisposable {
  readonly backend: BackendName;
  /** A temporary directory for the test's own files (marks, scripts), outside the lock root. */
  readonly dir: string;
  /** `LOKT_ROOT`: where the locks are on files; on PostgreSQL nothing may appear there. */
  readonly root: string;
  /** The environment that chooses this backend (to merge into `holderEnv`'s extra). */
  readonly backendEnv: Record<string, string>;
  /** A test holder's environment on this backend (see `holderEnv`); `extra` wins. */
  env(agent: string, extra?: Record<string, string>): Record<string, string>;
  /** A snapshot of `name`, as `status` and `why` read it. */
  observe(name: string): Promise<NameState>;
  /** The record of `name`'s holder in `slot` (default 1), if any. */
  holder(name: string, slot?: number): Promise<LockRecord | undefined>;
  /** How many waiters queue for `name`. */
  tickets(name: string): Promise<number>;
  /** The audit events that pass `filter`, oldest first, each as its JSON line reads. */
  events(filter?: AuditFilter): Promise<Record<string, unknown>[]>;
}

/** A backend to run tests against. */
export interface TestBackend {
  readonly name: BackendName;
  /** For `Deno.test({ ignore })`: true (said once, on stderr) when it cannot run here. */
  readonly ignore: boolean;
  /** A fresh place for one test. */
  open(): Promise<Place>;
}

const ACTOR = { owner: "tester", host: Deno.hostname(), pid: Deno.pid, agentId: "inspector" };

let cluster: Promise<Cluster> | undefined;
let namespaces = 0;

/** The file's cluster, started on first use and stopped when the test file's process ends. */
function sharedCluster(): Promise<Cluster> {
  if (cluster === undefined) {
    cluster = startCluster();
    // `unload` cannot await: the cluster is stopped synchronously.
    cluster.then((c) => globalThis.addEventListener("unload", () => c.stopSync()), () => {});
  }
  return cluster;
}

function place(
  backend: BackendName,
  backendEnv: Record<string, string>,
  inspector: () => Promise<Backend>,
  dir: { path: string; [Symbol.dispose](): void },
): Place {
  const root = `${dir.path}/root`;
  let opened: Promise<Backend> | undefined;
  const inspect = () => (opened ??= inspector());
  return {
    backend,
    dir: dir.path,
    root,
    backendEnv,
    env: (agent, extra = {}) => holderEnv(root, agent, { ...backendEnv, ...extra }),
    observe: async (name) => await (await inspect()).observe(name),
    holder: async (name, slot = 1) =>
      (await (await inspect()).observe(name)).holders.find((h) => h.slot === slot)?.record,
    tickets: async (name) => (await (await inspect()).observe(name)).waiters.length,
    events: async (filter = {}) =>
      (await (await inspect()).audit.query(filter)).map((e) => e.record),
    async [Symbol.asyncDispose]() {
      try {
        if (opened !== undefined) await (await opened).close();
        if (backend !== "files") {
          let made = true;
          try {
            Deno.lstatSync(root);
          } catch {
            made = false;
          }
          if (made) throw new Error(`a shared backend's test wrote to the lock root ${root}`);
        }
      } finally {
        dir[Symbol.dispose]();
      }
    },
  };
}

/** Files, in a temporary lock root. */
const FILES: TestBackend = {
  name: "files",
  ignore: false,
  open() {
    const dir = tempDir("lokt-e2e-");
    const root = `${dir.path}/root`;
    return Promise.resolve(
      place(
        "files",
        {},
        () => Promise.resolve(openFiles({ root, probe: platformProbe(), actor: ACTOR })),
        dir,
      ),
    );
  },
};

/** PostgreSQL: the file's private cluster, a namespace of the test's own. */
const POSTGRES: TestBackend = {
  name: "postgres",
  ignore: noPostgres(),
  async open() {
    const { url } = await sharedCluster();
    const namespace = `e2e/${Deno.pid}/${++namespaces}`;
    return place(
      "postgres",
      { LOKT_BACKEND: url, LOKT_NAMESPACE: namespace },
      () =>
        openPostgres(url, {
          namespace,
          probe: platformProbe(),
          actor: ACTOR,
          connectTimeoutMs: 5_000,
        }),
      tempDir("lokt-e2e-"),
    );
  },
};

/** Every backend, files first. */
export const BACKENDS: readonly TestBackend[] = [FILES, POSTGRES];

/** One test per backend, named `<backend>: <name>`, each given a fresh {@link Place}. */
export function backendTest(
  name: string,
  fn: (place: Place) => Promise<void>,
  options: { ignore?: boolean; only?: readonly BackendName[] } = {},
): void {
  for (const backend of BACKENDS) {
    if (options.only !== undefined && !options.only.includes(backend.name)) continue;
    Deno.test({
      name: `${backend.name}: ${name}`,
      ignore: backend.ignore || options.ignore === true,
      async fn() {
        await using here = await backend.open();
        await fn(here);
      },
    });
  }
}

/** Polls `check` every 20 ms until it returns a truthy value, for at most `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
