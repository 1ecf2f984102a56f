/** `lokt mcp`: serve MCP over stdin/stdout until the client leaves. */

import { lazy } from "../../lazy.ts";
import { expectPositionals } from "../args.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Runs `lokt mcp`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("mcp")!, args);
  const { serveMcp }: typeof import("../../mcp/mod.ts") = await import(
    // Through lazy(): a literal import would put the SDK on npm in every command's start-up
    // graph, resolved (and downloaded on a cold cache) even by `lokt exists`.
    lazy("../../mcp/mod.ts")
  );
  return serveMcp(session);
}
