/**
 * What a harness's PreToolUse hook receives on stdin, reduced to what lokt needs. Both Claude Code
 * and Codex send one JSON object with `session_id`, `cwd`, `hook_event_name`, `tool_name`,
 * `tool_input` (for shell commands `{ "command": "..." }`, Claude Code adding `description`,
 * `timeout` in milliseconds and `run_in_background`) and, in recent versions, `permission_mode`
 * and `tool_use_id`. Fields lokt does not use are ignored, so that other versions' field sets
 * read the same. Pure.
 */

/** The harnesses lokt writes hooks for. */
export const HARNESSES = ["claude-code", "codex"] as const;

/** One of {@link HARNESSES}. */
export type Harness = typeof HARNESSES[number];

/** A shell command the agent is about to run. */
export interface ShellCall {
  harness: Harness;
  /** The agent session, when the harness says. */
  sessionId?: string;
  command: string;
  /** Where the command will run, when the harness says. */
  cwd?: string;
  /** `default`, `acceptEdits`, `plan`, `auto`, `dontAsk`, `bypassPermissions`, ... */
  permissionMode?: string;
  /** The tool's whole input: Claude Code replaces all of it with `updatedInput`. */
  toolInput: Record<string, unknown>;
  /** The command's own timeout, when the input carries one (Claude Code: `timeout`, ms). */
  timeoutMs?: number;
}

/** What a hook input turned out to be. */
export type HookInput =
  | { kind: "shell"; call: ShellCall }
  | { kind: "other"; what: string }
  | { kind: "malformed"; problem: string };

/** Tool names of shell commands: Claude Code's `Bash`; Codex's canonical `Bash` and its aliases. */
const SHELL_TOOLS: Record<Harness, readonly string[]> = {
  "claude-code": ["Bash"],
  codex: ["Bash", "shell", "local_shell", "shell_command", "exec_command", "container.exec"],
};

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Reads a hook's stdin text. */
export function readHookInput(harness: Harness, raw: string): HookInput {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { kind: "malformed", problem: `the hook input is not JSON (${why})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "malformed", problem: "the hook input is not a JSON object" };
  }
  const input = value as Record<string, unknown>;
  const event = input.hook_event_name;
  if (event !== undefined && event !== "PreToolUse") {
    return { kind: "other", what: `event ${String(event)}` };
  }
  const tool = input.tool_name;
  if (typeof tool !== "string") {
    return { kind: "malformed", problem: "the hook input has no tool_name" };
  }
  if (!SHELL_TOOLS[harness].includes(tool)) return { kind: "other", what: `tool ${tool}` };
  const toolInput = input.tool_input;
  if (typeof toolInput !== "object" || toolInput === null || Array.isArray(toolInput)) {
    return { kind: "malformed", problem: `the ${tool} call has no tool_input object` };
  }
  const fields = toolInput as Record<string, unknown>;
  if (typeof fields.command !== "string") {
    return { kind: "malformed", problem: `the ${tool} call has no command string` };
  }
  const timeout = fields.timeout;
  return {
    kind: "shell",
    call: {
      harness,
      sessionId: text(input.session_id),
      command: fields.command,
      cwd: text(input.cwd),
      permissionMode: text(input.permission_mode),
      toolInput: fields,
      timeoutMs: typeof timeout === "number" && Number.isFinite(timeout) && timeout > 0
        ? timeout
        : undefined,
    },
  };
}
