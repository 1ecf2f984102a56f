/**
 * `lokt mcp` through the SDK's own stdio client, as an agent tool drives it:
 * - start-up: spawn the server, `initialize`, and the first tool result (`status`), beside
 *   `deno run` of an empty script, alternated so that noise hits both alike;
 * - `acquire` + `release` of one name, one round trip each, on a warm server (budget: 2 ms);
 * - hand-off between two servers: one holds, the other waits (`acquire` with `wait`); from the
 *   moment the holder's `release` is sent to the waiter's `acquire` result, both measured in
 *   this process, so it includes the release's own round trip (budget: 5 ms).
 *
 *   deno run -A bench/mcp.ts [--quick]
 */

import { Client } from "npm:@modelcontextprotocol/client@2.4.0";
import { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";
import { DENO, emptyDeno, loktEnv, makeDir, removeDir, REPO, RUN_ARGS } from "./setup.ts";
import { median, quantile, runTimed } from "./stats.ts";
import { ms, ratio, type Row, type Section, verdict } from "./table.ts";

/** How much to measure. */
export interface McpSizes {
  starts: number;
  roundTrips: number;
  handoffs: number;
}

/** Full-size run. */
export const FULL: McpSizes = { starts: 20, roundTrips: 300, handoffs: 40 };
/** Smoke-test size. */
export const QUICK: McpSizes = { starts: 1, roundTrips: 3, handoffs: 1 };

const ROUND_TRIP_BUDGET_MS = 2;
const HANDOFF_BUDGET_MS = 5;

/** Where Deno caches modules: the SDK's launcher passes only a few variables on its own. */
function denoDir(): string {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const out = new Deno.Command(DENO, { args: ["info", "--json"], stderr: "null" }).outputSync();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

function serverEnv(root: string, agent: string): Record<string, string> {
  return {
    ...loktEnv(root, agent),
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    DENO_DIR: denoDir(),
  };
}

async function start(root: string, agent: string): Promise<Client> {
  const client = new Client({ name: "lokt-bench", version: "1" });
  await client.connect(
    new StdioClientTransport({
      command: DENO,
      args: [...RUN_ARGS, `${REPO}/main.ts`, "mcp"],
      env: serverEnv(root, agent),
      stderr: "ignore",
    }),
  );
  return client;
}

async function tool(client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
}

function row(subject: string, samples: number[], extra: Partial<Row> = {}): Row {
  return {
    bench: "mcp",
    subject,
    n: samples.length,
    median: ms(median(samples)),
    p99: ms(quantile(samples, 0.99)),
    vsFlock: "",
    vsDeno: "",
    budget: "",
    ...extra,
  };
}

/** Runs the MCP benchmarks. */
export async function benchMcp(sizes: McpSizes): Promise<Section> {
  const dir = makeDir("mcp");
  try {
    const root = `${dir}/.lokt`;
    const starts: number[] = [];
    const empties: number[] = [];
    for (let i = 0; i < sizes.starts; i++) {
      empties.push(await runTimed(emptyDeno(), {}, 0));
      const t0 = performance.now();
      const client = await start(root, "bench-start");
      await tool(client, "status", {});
      starts.push(performance.now() - t0);
      await client.close();
    }

    const a = await start(root, "bench-a");
    const b = await start(root, "bench-b");
    try {
      const trips: number[] = [];
      for (let i = 0; i < sizes.roundTrips + 5; i++) {
        const t0 = performance.now();
        await tool(a, "acquire", { name: "rt" });
        await tool(a, "release", { name: "rt" });
        if (i >= 5) trips.push(performance.now() - t0); // the first few warm the server up
      }

      const handoffs: number[] = [];
      for (let i = 0; i < sizes.handoffs; i++) {
        await tool(a, "acquire", { name: "ho" });
        const waiting = tool(b, "acquire", { name: "ho", wait: true });
        await waitForQueue(`${root}/queue/ho`);
        const t0 = performance.now();
        await tool(a, "release", { name: "ho" });
        await waiting;
        handoffs.push(performance.now() - t0);
        await tool(b, "release", { name: "ho" });
      }

      const startMedian = median(starts);
      const emptyMedian = median(empties);
      return {
        rows: [
          row("lokt mcp: spawn, initialize, first tool result", starts, {
            vsDeno: ratio(startMedian, emptyMedian),
          }),
          row("acquire + release over stdio (2 round trips)", trips, {
            budget: verdict(`<= ${ROUND_TRIP_BUDGET_MS} ms`, median(trips) <= ROUND_TRIP_BUDGET_MS),
          }),
          row("hand-off between two servers (release sent to waiter's result)", handoffs, {
            budget: verdict(`<= ${HANDOFF_BUDGET_MS} ms`, median(handoffs) <= HANDOFF_BUDGET_MS),
          }),
        ],
        notes: [
          `mcp: start-up is measured from spawning \`deno run -A --v8-flags=... main.ts mcp\` ` +
          `to the first tool result, through the SDK's stdio client; the empty deno script took ` +
          `${ms(emptyMedian)} (median) in the same run.`,
          "mcp: the hand-off includes the holder's release round trip; the waiter is woken by " +
          "a file event.",
        ],
      };
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  } finally {
    removeDir(dir);
  }
}

/** Waits until a ticket is in `dir` (the waiter has queued). */
async function waitForQueue(dir: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    try {
      if ([...Deno.readDirSync(dir)].length > 0) return;
    } catch {
      // not created yet
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error("the waiter never queued");
}

if (import.meta.main) {
  const section = await benchMcp(Deno.args.includes("--quick") ? QUICK : FULL);
  const { renderTable } = await import("./table.ts");
  console.log(renderTable(section.rows));
  for (const note of section.notes) console.log(`- ${note}`);
}
