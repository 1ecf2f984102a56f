/**
 * Known agent harnesses: the environment variables they give the commands they run, and how to
 * recognise their process among lokt's ancestors.
 */

/** Session variables set by agent harnesses, in the order they are consulted. */
export const HARNESS_SESSION_VARIABLES: readonly { variable: string; harness: string }[] = [
  { variable: "CLAUDE_CODE_SESSION_ID", harness: "claude-code" },
  { variable: "CODEX_SESSION_ID", harness: "codex" },
  { variable: "CODEX_THREAD_ID", harness: "codex" },
  { variable: "OPENCODE_SESSION_ID", harness: "opencode" },
  { variable: "GEMINI_CLI_SESSION_ID", harness: "gemini-cli" },
  { variable: "CURSOR_AGENT_SESSION_ID", harness: "cursor-agent" },
];

/** Variables that name the harness process itself. */
export const HARNESS_PID_VARIABLES: readonly { variable: string; harness: string }[] = [
  { variable: "OPENCODE_PID", harness: "opencode" },
];

interface HarnessPattern {
  harness: string;
  /** Executable names (`comm`) that are the harness itself. */
  comm: readonly string[];
  /** Matches the script path an interpreter runs when it is this harness. */
  script?: RegExp;
}

const PATTERNS: readonly HarnessPattern[] = [
  { harness: "claude-code", comm: ["claude"], script: /@anthropic-ai\/claude-code\/|\/claude$/ },
  { harness: "codex", comm: ["codex"], script: /@openai\/codex\/|\/codex(\.js)?$/ },
  { harness: "opencode", comm: ["opencode"], script: /opencode-ai\/|\/opencode$/ },
  { harness: "cursor-agent", comm: ["cursor-agent"], script: /\/cursor-agent$/ },
  { harness: "gemini-cli", comm: ["gemini"], script: /@google\/gemini-cli\/|\/gemini$/ },
  { harness: "aider", comm: ["aider"], script: /\/aider$/ },
  { harness: "goose", comm: ["goose"] },
  { harness: "amp", comm: ["amp"], script: /@sourcegraph\/amp\/|\/amp$/ },
];

const INTERPRETERS = new Set(["node", "nodejs", "bun", "deno", "python", "python3", "MainThread"]);

/** Does this process look like an interpreter that may be running a harness script? */
export function isInterpreter(comm: string): boolean {
  return INTERPRETERS.has(comm) || /^python3(\.\d+)?$/.test(comm);
}

/**
 * Names the harness a process is, from its executable name and (for interpreters) its command
 * line, or returns undefined.
 */
export function recogniseHarness(comm: string, argv?: readonly string[]): string | undefined {
  for (const pattern of PATTERNS) {
    if (pattern.comm.includes(comm)) return pattern.harness;
  }
  if (argv === undefined || !isInterpreter(comm)) return undefined;
  // argv[0] is the interpreter; the script is the first argument that is not a flag.
  const script = argv.slice(1).find((arg) => !arg.startsWith("-"));
  if (script === undefined) return undefined;
  return PATTERNS.find((pattern) => pattern.script?.test(script))?.harness;
}
