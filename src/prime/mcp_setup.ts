/**
 * The MCP setup `lokt prime --mcp TOOL` prints: how an agent tool starts `lokt mcp`, in the form
 * that tool reads (a `claude mcp add` line, Codex's `config.toml`, Cursor's `.cursor/mcp.json`,
 * or the plain command for any other client). Pure.
 */

/** The agent tools `prime --mcp` knows. */
export const MCP_TOOLS = ["claude-code", "codex", "cursor", "generic"] as const;
/** One of {@link MCP_TOOLS}. */
export type McpTool = typeof MCP_TOOLS[number];

/** The command line that starts the server: the program and its arguments (`mcp` last). */
export interface ServerCommand {
  command: string;
  args: string[];
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The setup text for `tool`, starting the server with `server`. */
export function mcpSetup(tool: McpTool, server: ServerCommand): string {
  const argv = [server.command, ...server.args];
  switch (tool) {
    case "claude-code":
      return [
        "# Claude Code: run in the repository (--scope project writes .mcp.json for everyone)",
        `claude mcp add --scope project lokt -- ${argv.map(shellWord).join(" ")}`,
        "",
      ].join("\n");
    case "codex":
      return [
        "# Codex: add to ~/.codex/config.toml",
        "[mcp_servers.lokt]",
        `command = ${JSON.stringify(server.command)}`,
        `args = [${server.args.map((a) => JSON.stringify(a)).join(", ")}]`,
        "",
      ].join("\n");
    case "cursor":
      return JSON.stringify(
        { mcpServers: { lokt: { command: server.command, args: server.args } } },
        null,
        2,
      ) + "\n";
    case "generic":
      return [
        "# Any MCP client: a stdio server started in the repository (or with LOKT_ROOT set)",
        `command: ${server.command}`,
        `args: ${JSON.stringify(server.args)}`,
        "",
      ].join("\n");
  }
}
