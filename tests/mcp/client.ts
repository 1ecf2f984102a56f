/**
 * A real MCP client for the tests: the SDK's own client, over stdio, spawning the real entry point
 * (`main.ts mcp`) with an explicit environment (the SDK's launcher passes only a few variables on
 * its own).
 */

import { Client } from "npm:@modelcontextprotocol/client@2.4.0";
import { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";
import { holderEnv, MAIN } from "../helpers/cli.ts";

let denoDir: string | undefined;
/** Where Deno caches modules, so that the server finds the npm packages the tests fetched. */
export function cacheDir(): string {
  if (denoDir !== undefined) return denoDir;
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return denoDir = fromEnv;
  const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" })
    .outputSync();
  return denoDir = JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
}

/** The environment a server runs in: its own agent id, detection off, the module cache. */
export function serverEnv(
  root: string,
  agent: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...holderEnv(root, agent), DENO_DIR: cacheDir(), ...extra };
}

/** A connected client and the server process it started. */
export interface Session {
  client: Client;
  transport: StdioClientTransport;
  /** The server's pid. */
  pid: number;
  /** What the server wrote on stderr so far. */
  stderr(): string;
  /** Closes stdin and waits for the server to go (the SDK's close: TERM, then KILL, if it lingers). */
  close(): Promise<void>;
}

/** The text of a tool result's first content block. */
export function textOf(result: { content?: unknown }): string {
  const content = result.content as { type: string; text?: string }[] | undefined;
  return content?.[0]?.text ?? "";
}

/** Starts `lokt mcp` (or `command`/`args`) and connects the SDK's client to it. */
export async function connect(
  env: Record<string, string>,
  options: { clientName?: string; command?: string; args?: string[] } = {},
): Promise<Session> {
  const transport = new StdioClientTransport({
    command: options.command ?? Deno.execPath(),
    args: options.args ?? ["run", "-A", MAIN, "mcp"],
    env,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: options.clientName ?? "lokt-tests", version: "1.2.3" });
  await client.connect(transport);
  return {
    client,
    transport,
    pid: transport.pid!,
    stderr: () => stderr,
    close: () => client.close(),
  };
}

/** Polls `check` every 10 ms until it is true; fails after `ms`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
