/**
 * The MCP server behind `lokt mcp`: tools that take, release and explain locks for an agent, a
 * `lokt://status` resource, and a process that holds the agent's locks for as long as it runs.
 * Loaded only by that command: it is the one part of lokt that imports an npm package.
 *
 * @module
 */

export { serveMcp, STATUS_URI } from "./server.ts";
