/** `lokt mcp`: serve MCP over stdin/stdout until the client leaves. */

import { expectPositionals } from "../args.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/**
 * The server's module, named through a variable: Deno follows a literal dynamic import when it
 * builds the module graph at start-up, and this one leads to the SDK on npm, which every other
 * command would then resolve (and download on a cold cache). `deno compile` includes it by
 * `--include` (see the release workflow).
 */
const SERVER_MODULE = "../../mcp/mod.ts";

/** Runs `lokt mcp`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("mcp")!, args);
  const { serveMcp }: typeof import("../../mcp/mod.ts") = await import(SERVER_MODULE);
  return serveMcp(session);
}
