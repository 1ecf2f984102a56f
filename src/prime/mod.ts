/**
 * `prime`: instructions for agent tools (CLAUDE.md, .cursorrules, ...) that teach an agent to use
 * lokt in one repository: its guardable scripts, the current locks, the rules. Detection reads
 * the repository; generation is pure.
 *
 * @module
 */

export { detectScripts, type ReadText, type RepoScript, type ScriptSource } from "./scripts.ts";
export {
  type ActiveFreeze,
  type GuardedCommand,
  type HeldLock,
  type PrimeFacts,
  rootFacts,
} from "./facts.ts";
export {
  PRIME_FILES,
  PRIME_FORMATS,
  type PrimeFormat,
  renderPrime,
  suggestion,
} from "./generate.ts";
export { fileReader, projectDir } from "./repo.ts";
export { MCP_TOOLS, mcpSetup, type McpTool, type ServerCommand } from "./mcp_setup.ts";
