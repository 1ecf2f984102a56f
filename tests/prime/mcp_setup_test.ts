import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { MCP_TOOLS, mcpSetup } from "../../src/prime/mcp_setup.ts";

const BINARY = { command: "/home/ana/.local/bin/lokt", args: ["mcp"] };
const CHECKOUT = { command: "deno", args: ["run", "-A", "/src/my lokt/main.ts", "mcp"] };

Deno.test("claude-code gets a `claude mcp add` line with the words quoted for the shell", () => {
  assertMatch(
    mcpSetup("claude-code", CHECKOUT),
    /^claude mcp add --scope project lokt -- deno run -A '\/src\/my lokt\/main\.ts' mcp$/m,
  );
});

Deno.test("codex gets a [mcp_servers.lokt] table for config.toml", () => {
  const toml = mcpSetup("codex", BINARY).split("\n").filter((l) => !l.startsWith("#"));
  assertEquals(toml.slice(0, 3), [
    "[mcp_servers.lokt]",
    'command = "/home/ana/.local/bin/lokt"',
    'args = ["mcp"]',
  ]);
});

Deno.test("cursor gets a whole .cursor/mcp.json", () => {
  assertEquals(JSON.parse(mcpSetup("cursor", CHECKOUT)), {
    mcpServers: { lokt: { command: "deno", args: CHECKOUT.args } },
  });
});

Deno.test("every tool's setup names the server's command and ends with a newline", () => {
  for (const tool of MCP_TOOLS) {
    const text = mcpSetup(tool, BINARY);
    assertMatch(text, /\/home\/ana\/\.local\/bin\/lokt/, tool);
    assertEquals(text.endsWith("\n"), true, tool);
  }
});
