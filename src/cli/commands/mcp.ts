/** `lokt mcp`: serve MCP over stdin/stdout until the client leaves. */

import { expectPositionals } from "../args.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt mcp`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("mcp")!, args);
  // The SDK is loaded here, by this command only.
  const { serveMcp } = await import("../../mcp/mod.ts");
  return serveMcp(session);
}
