/**
 * `lokt mcp`: the MCP server over stdio, on the official TypeScript SDK (the only module that
 * imports it, loaded only by this command). It wires the tools and the `lokt://status` resource
 * to the SDK's low-level server, which lets lokt give its own JSON Schemas and its own messages
 * for bad input, and runs the server until the client closes stdin or a signal asks it to stop;
 * then it releases every lock it holds.
 */

import { Server } from "npm:@modelcontextprotocol/server@2.4.0";
import { StdioServerTransport } from "npm:@modelcontextprotocol/server@2.4.0/stdio";
import { BUILD_INFO } from "../build_info.ts";
import { asIoError, describeError, LoktError, UsageError } from "../errors.ts";
import { ensureLayout } from "../locks/layout.ts";
import { hintFor } from "../cli/hints.ts";
import type { Session } from "../cli/session.ts";
import { inputSchema, readArgs } from "./args.ts";
import { Holdings } from "./holdings.ts";
import { statusJson, type ToolCall, TOOLS } from "./tools.ts";
import { StatusWatch } from "./watch.ts";

/** The resource that lists every lock and freeze. */
export const STATUS_URI = "lokt://status";

const INSTRUCTIONS = "lokt coordinates shared resources (builds, migrations, ports, pushes) " +
  "between the agents, terminals and scripts of this repository. Before using a shared " +
  "resource, call `acquire` with `wait: true`; call `release` as soon as you are done. Locks " +
  "you take are held by this server and end with your session. Ask `why` when blocked; never " +
  "override someone else's freeze unless the user asks.";

type CallResult = {
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

/** A tool error as the CLI reports it: `error:` and `hint:` lines, and its `--json` object. */
export function errorResult(thrown: unknown): CallResult {
  const error = asIoError(thrown) ?? thrown;
  if (error instanceof LoktError) {
    const hint = hintFor(error) ?? "";
    return {
      isError: true,
      content: [{ type: "text", text: `error: ${error.message}${hint ? `\nhint: ${hint}` : ""}` }],
      structuredContent: { ok: false, error: { code: error.code, message: error.message, hint } },
    };
  }
  const message = describeError(error);
  return {
    isError: true,
    content: [{ type: "text", text: `error: ${message}` }],
    structuredContent: { ok: false, error: { code: "internal", message, hint: "" } },
  };
}

/** Serves MCP on stdin/stdout until the client leaves or SIGINT/SIGTERM; returns the exit code. */
export async function serveMcp(session: Session): Promise<number> {
  // One backend for the server's life (a shared one: one connection), closed by the session.
  const locks = await session.locks();
  if (locks.root !== undefined) ensureLayout(session.lockContext().layout);
  const stop = new AbortController();
  let client: string | undefined;
  const clientName = () => client;

  const server = new Server(
    { name: "lokt", version: BUILD_INFO.version },
    { capabilities: { tools: {}, resources: { subscribe: true } }, instructions: INSTRUCTIONS },
  );
  server.oninitialized = () => {
    const info = server.getClientVersion();
    if (info !== undefined) client = `${info.name}/${info.version}`;
  };

  let subscribed = false;
  // A shared backend has no files to watch: its status is compared every second.
  const layout = locks.root === undefined ? undefined : session.layout();
  const watch = new StatusWatch(
    layout === undefined ? [] : [layout.locks, layout.freezes, layout.queue],
    () => statusJson({ session, locks, client: clientName }),
    () => {
      if (subscribed) server.sendResourceUpdated({ uri: STATUS_URI }).catch(() => {});
    },
    { noWatch: layout === undefined || session.world.env("LOKT_NO_WATCH") === "1" },
  );
  const holdings = new Holdings({
    locks,
    claim: () => session.selfClaim(),
    client: clientName,
    onChange: () => watch.poke(),
    onError: (error) => session.warn(describeError(error)),
  });

  server.setRequestHandler("tools/list", () => ({
    tools: TOOLS.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: inputSchema(tool.args) as { type: "object" },
      annotations: {
        title: tool.title,
        readOnlyHint: tool.readOnly,
        destructiveHint: false,
        idempotentHint: tool.readOnly,
        openWorldHint: false,
      },
    })),
  }));

  server.setRequestHandler("tools/call", async (request, reqCtx) => {
    const { name, arguments: raw } = request.params;
    const token = reqCtx.mcpReq._meta?.progressToken ?? request.params._meta?.progressToken;
    const call: ToolCall = {
      session,
      locks,
      holdings,
      client: clientName,
      signal: AbortSignal.any([reqCtx.mcpReq.signal, stop.signal]),
      progress: (message, waitedMs) => {
        if (token === undefined) return;
        reqCtx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken: token, progress: Math.round(waitedMs), message },
        }).catch(() => {});
      },
    };
    let result: CallResult;
    try {
      const tool = TOOLS.find((t) => t.name === name);
      if (tool === undefined) {
        throw new UsageError(
          `unknown tool "${name}"`,
          `the tools are ${TOOLS.map((t) => t.name).join(", ")}`,
        );
      }
      const answer = await tool.run(readArgs(tool.args, raw), call);
      result = {
        content: [{ type: "text", text: answer.text }],
        structuredContent: answer.structured,
      };
    } catch (error) {
      result = errorResult(error);
    }
    return server.projectCallToolResult(result, undefined);
  });

  const statusResource = {
    uri: STATUS_URI,
    name: "status",
    title: "lokt status",
    description: "Every lock and freeze of this repository, as `lokt status --json` shows it. " +
      "Subscribe to be notified when it changes.",
    mimeType: "application/json",
  };
  server.setRequestHandler("resources/list", () => ({ resources: [statusResource] }));
  server.setRequestHandler("resources/read", async (request) => {
    assertStatusUri(request.params.uri);
    const text = JSON.stringify(await statusJson({ session, locks, client: clientName }), null, 2);
    return { contents: [{ uri: STATUS_URI, mimeType: "application/json", text }] };
  });
  server.setRequestHandler("resources/subscribe", async (request) => {
    assertStatusUri(request.params.uri);
    subscribed = true;
    await watch.start();
    return {};
  });
  server.setRequestHandler("resources/unsubscribe", (request) => {
    assertStatusUri(request.params.uri);
    subscribed = false;
    return {};
  });

  const closed = Promise.withResolvers<void>();
  const onSignal = () => closed.resolve();
  const signals = (["SIGINT", "SIGTERM"] as Deno.Signal[]).filter((signal) => {
    try {
      Deno.addSignalListener(signal, onSignal);
      return true;
    } catch {
      return false; // not available on this platform (Windows has no SIGTERM)
    }
  });
  const transport = new StdioServerTransport();
  server.onclose = () => closed.resolve();
  await server.connect(transport);

  await closed.promise;
  stop.abort(new Error("the server is shutting down"));
  await holdings.close();
  await watch.stop();
  for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  await server.close().catch(() => {});
  return 0;
}

function assertStatusUri(uri: string): void {
  if (uri !== STATUS_URI) {
    throw new UsageError(`unknown resource "${uri}"`, `the only resource is ${STATUS_URI}`);
  }
}
