/**
 * The command table: every command, its flags and its help, in one place. Parsing, `--help` and
 * shell completions are all generated from it. Implementations load lazily.
 */

import { lazy } from "../lazy.ts";
import type { CommandModule, CommandSpec, FlagSpec } from "./spec.ts";

/** Imports `commands/<name>.ts` when the command runs, and no other command's modules. */
function loadCommand(name: string): Promise<CommandModule> {
  return import(lazy(`./commands/${name}.ts`));
}

const JSON_FLAG: FlagSpec = {
  name: "json",
  type: "boolean",
  summary: "print the result as JSON on stdout",
};
const TTL_FLAG: FlagSpec = {
  name: "ttl",
  type: "duration",
  placeholder: "D",
  summary: "lease length: 500ms, 90s, 5m, 1h30m, 1.5h (default: no TTL)",
};
const WAIT_FLAG: FlagSpec = {
  name: "wait",
  short: "w",
  type: "boolean",
  summary: "wait until the lock is free instead of failing (first come, first served)",
};
const TIMEOUT_FLAG: FlagSpec = {
  name: "timeout",
  type: "duration",
  placeholder: "D",
  summary: "with --wait: give up after D and exit 2 (default: wait forever)",
};
const QUIET_FLAG: FlagSpec = {
  name: "quiet",
  short: "q",
  type: "boolean",
  summary: "no progress lines on stderr while waiting; only a final error is printed",
};

const SLOTS_FLAG: FlagSpec = {
  name: "slots",
  type: "integer",
  placeholder: "N",
  summary: "let up to N holders in at once, each on its own slot 1..N (default 1: a plain lock)",
};

/** What `--slots` means (guard and lock say it in their help). */
const SLOTS_TEXT = "With --slots N (1 to 256), NAME admits up to N holders at once, each on its " +
  "own slot: a counting lock for a pool (two test databases, four agents on one API key). A " +
  "freed slot goes to the earliest waiter; fences grow across all slots. Every caller of NAME " +
  "must ask for the same N while anyone holds it (else exit 64, naming the current N); N can " +
  "change once NAME is idle. --slots 1 is the plain lock.";

/** What `--wait` prints while it waits (guard and lock say it in their help). */
const WAITING_TEXT = "While it waits, lokt says on stderr who holds NAME: one line when the wait " +
  "starts, then at most one line every 30 s, or when the holder changes (at most one every " +
  "5 s); the holder's command is cut to 60 characters. --quiet prints nothing but a final error.";

/** Every command, in the order `lokt --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "guard",
    summary: "run a command while holding a lock; release it when the command ends",
    usage:
      "NAME [--ttl D] [--slots N] [--wait [--timeout D]] [--quiet] [--conflict-exit-code N] [--on-lost stop|keep] -- CMD [ARGS...]",
    positionals: [{ name: "NAME" }],
    takesCommand: true,
    flags: [
      TTL_FLAG,
      SLOTS_FLAG,
      WAIT_FLAG,
      TIMEOUT_FLAG,
      QUIET_FLAG,
      {
        name: "conflict-exit-code",
        short: "E",
        type: "integer",
        placeholder: "N",
        summary: "exit N instead of 2 when the lock is held, frozen or the wait times out",
      },
      {
        name: "on-lost",
        type: "string",
        placeholder: "stop|keep",
        choices: ["stop", "keep"],
        summary: "if the lock is broken while CMD runs: stop CMD (default) or let it finish",
      },
    ],
    description: [
      "Takes the lock NAME, runs CMD directly (no shell) with your terminal, environment and " +
      "working directory, and releases the lock when CMD ends, however it ends. Use `sh -c '...'` " +
      "to run a pipeline.",
      "The lock lives exactly as long as the guard or CMD runs: if lokt itself is killed, CMD " +
      "keeps the lock until it ends; once both are gone the next contender takes it over at once. " +
      "With --ttl the lease is renewed every TTL/2 while the lock is still ours.",
      "CMD gets LOKT_LOCK_NAME, LOKT_LOCK_ID, LOKT_LOCK_ROOT and LOKT_FENCE (a number that grows " +
      "with every acquisition of NAME: pass it to anything that must reject a stale writer), and " +
      "LOKT_SLOT (the slot it holds, 1 without --slots). A lokt guard or lock on the same NAME " +
      "inside CMD passes straight through.",
      SLOTS_TEXT,
      "SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to CMD. If someone breaks the lock with " +
      "`unlock --force` while CMD runs, lokt says so, records `lost` in the audit log, and stops " +
      "CMD (TERM, then KILL 5 s later) unless --on-lost keep.",
      WAITING_TEXT,
      "Exit codes: CMD's own exit code; 128+N if CMD died of signal N; 2 if the lock is held or " +
      "frozen or --timeout ran out (or N with --conflict-exit-code N); 75 if the lock was lost " +
      "while CMD ran; 126 if CMD cannot be run; 127 if CMD does not exist; 64 bad usage.",
    ],
    examples: [
      "lokt guard build --ttl 10m --wait -- make build",
      "lokt guard migrate --wait --timeout 5m -- ./scripts/migrate.sh",
      "lokt guard test -E 99 -- sh -c 'npm test && npm run lint'",
      "lokt guard test-db --slots 2 --wait -- sh -c 'DB=test_$LOKT_SLOT npm test'",
    ],
    load: () => loadCommand("guard"),
  },
  {
    name: "lock",
    summary: "take a lock and keep it after this command returns",
    usage: "NAME [--ttl D] [--pid PID] [--slots N] [--wait [--timeout D] [--quiet]] [--json]",
    positionals: [{ name: "NAME" }],
    flags: [
      TTL_FLAG,
      {
        name: "pid",
        type: "integer",
        placeholder: "PID",
        summary: "the lock follows this process: stale once it exits (e.g. --pid $$)",
      },
      SLOTS_FLAG,
      WAIT_FLAG,
      TIMEOUT_FLAG,
      QUIET_FLAG,
      JSON_FLAG,
    ],
    description: [
      "Takes the lock NAME and keeps it after lokt exits, until `lokt unlock NAME`, until its " +
      "TTL runs out, or until the process it follows dies, whichever comes first.",
      "The lock belongs to you: your owner name (LOKT_OWNER, else your user name) and your agent " +
      "id (LOKT_AGENT_ID, else the agent session or terminal session lokt detects). Taking it " +
      "again refreshes its TTL and keeps its fence; anyone else is refused with exit 2.",
      "It follows the process given by --pid, else the agent harness or terminal session lokt " +
      "detected. When that process is gone the lock is stale, and the next `lock` takes it over.",
      SLOTS_TEXT,
      WAITING_TEXT,
      "Exit codes: 0 acquired, 2 held by someone else (or frozen, or --timeout ran out), " +
      "64 bad usage, 130/143 interrupted while waiting.",
    ],
    examples: [
      "lokt lock deploy --ttl 30m",
      "lokt lock migrate --ttl 10m --wait --timeout 2m",
      "lokt lock build --ttl 5m --pid $$",
      "lokt lock api-key --slots 4 --ttl 10m --wait",
    ],
    load: () => loadCommand("lock"),
  },
  {
    name: "unlock",
    summary: "release a lock you hold, or break one",
    usage: "NAME [--force | --break-stale] [--json]  |  lokt unlock --all [--json]",
    positionals: [{ name: "NAME", optional: true }],
    flags: [
      {
        name: "force",
        short: "f",
        type: "boolean",
        summary: "remove the lock whoever holds it (break-glass)",
      },
      {
        name: "break-stale",
        type: "boolean",
        summary: "remove the lock only if it is stale (TTL run out, holder dead, or corrupt)",
      },
      { name: "all", type: "boolean", summary: "release every plain lock you hold" },
      JSON_FLAG,
    ],
    description: [
      "Releases the lock NAME if you hold it (exit 4 if someone else does, 3 if there is none). " +
      "On a name with slots it releases the slot you hold; --break-stale removes every stale " +
      "slot, --force every slot.",
      "--break-stale removes someone else's lock only when it is stale; --force removes it " +
      "whatever its state, including unreadable lock files. Both are recorded in the audit log.",
      "--all releases every plain lock held by you (same owner and agent id): useful after an " +
      "agent restarts and loses track of what it took.",
    ],
    examples: [
      "lokt unlock deploy",
      "lokt unlock build --break-stale",
      "lokt unlock build --force",
      "lokt unlock --all",
    ],
    load: () => loadCommand("unlock"),
  },
  {
    name: "status",
    summary: "show held locks and freezes, or one lock in detail",
    usage: "[NAME] [--json] [--prune-expired]",
    positionals: [{ name: "NAME", optional: true }],
    flags: [
      JSON_FLAG,
      {
        name: "prune-expired",
        type: "boolean",
        summary:
          "first remove stale locks and expired freezes (audited), temporary files of crashed writers, and the fence files and queue directories of unused names",
      },
    ],
    description: [
      "Without NAME, lists every lock and freeze with its holder, age, TTL and liveness, and " +
      "counts files it could not read. With NAME, shows that lock in detail (exit 3 if none). " +
      "A name with slots shows one line per holder and how many slots are held (`2/3 held`).",
      "Also shows who you are to lokt: the owner and agent id your own locks carry.",
    ],
    examples: ["lokt status", "lokt status build --json"],
    load: () => loadCommand("status"),
  },
  {
    name: "why",
    summary: "explain whether NAME can be acquired now, and what to do if not",
    usage: "NAME [--json]",
    positionals: [{ name: "NAME" }],
    flags: [JSON_FLAG],
    description: [
      "Diagnoses NAME as `lokt lock NAME` would see it, for you: the freeze, the holder (owner, " +
      "host, PID and whether it is alive, age, TTL), stale or corrupted lock files, the waiting " +
      "queue and the fence, then suggests commands that resolve it.",
      "Strictly read-only: it changes no file, writes no audit line and does not even create " +
      "the lock root. It is a snapshot: `lokt why NAME && lokt lock NAME` can still lose a race.",
      "Exit codes: 0 acquisition would succeed (free; stale, and would be taken over; or held " +
      "by you already), 2 blocked (held by someone else, frozen, or waiters queued first), " +
      "64 bad usage.",
    ],
    examples: ["lokt why build", "lokt why deploy --json"],
    load: () => loadCommand("why"),
  },
  {
    name: "exists",
    summary: "exit 0 if a live lock holds NAME, 3 if not (prints nothing)",
    usage: "NAME",
    positionals: [{ name: "NAME" }],
    flags: [],
    description: [
      "Checks whether a live lock holds NAME, silently: exit 0 if so, 3 if not. A stale lock " +
      "counts as not held. Freezes are not locks: use `lokt why NAME` to see them.",
    ],
    examples: ["lokt exists build || make build"],
    load: () => loadCommand("exists"),
  },
  {
    name: "freeze",
    summary: "refuse every new lock and guard of NAME for a while",
    usage: "NAME --ttl D [--reason TEXT] [--json]",
    positionals: [{ name: "NAME" }],
    flags: [
      {
        name: "ttl",
        type: "duration",
        placeholder: "D",
        summary: "how long the freeze lasts (required): 90s, 15m, 1h30m",
      },
      {
        name: "reason",
        type: "string",
        placeholder: "TEXT",
        summary: "why, shown to everyone who is refused",
      },
      JSON_FLAG,
    ],
    description: [
      "Freezes NAME: until the freeze is lifted or its TTL runs out, `lokt lock NAME` and " +
      "`lokt guard NAME` are refused with exit 2, and with --wait they keep waiting. Locks " +
      "already held are not touched. Useful during an incident or a release.",
      "Freezing again as the same owner extends the freeze: a new TTL from now, and a new " +
      "reason if --reason is given. A freeze of another owner is refused with exit 2. Expired " +
      "freezes are removed by the next command that meets them, and the removal is recorded in " +
      "the audit log.",
      "Exit codes: 0 frozen or extended, 2 already frozen by someone else, 64 bad usage.",
    ],
    examples: [
      'lokt freeze deploy --ttl 30m --reason "incident 4711"',
      "lokt freeze migrate --ttl 2h --json",
    ],
    load: () => loadCommand("freeze"),
  },
  {
    name: "unfreeze",
    summary: "lift a freeze",
    usage: "NAME [--force] [--json]",
    positionals: [{ name: "NAME" }],
    flags: [
      {
        name: "force",
        short: "f",
        type: "boolean",
        summary: "lift it whoever set it, and remove an unreadable freeze file (break-glass)",
      },
      JSON_FLAG,
    ],
    description: [
      "Lifts the freeze on NAME. Only the owner who set it may, unless --force; both are " +
      "recorded in the audit log.",
      "Exit codes: 0 lifted, 3 no freeze on NAME, 4 frozen by someone else (use --force), " +
      "64 bad usage.",
    ],
    examples: ["lokt unfreeze deploy", "lokt unfreeze deploy --force"],
    load: () => loadCommand("unfreeze"),
  },
  {
    name: "audit",
    summary: "show or follow the audit log, filtered",
    usage: "[--since D|TS] [--until D|TS] [--name NAME] [--event E[,E...]] [--owner O] " +
      "[--limit N] [--tail] [--json]",
    positionals: [],
    flags: [
      {
        name: "since",
        type: "string",
        placeholder: "D|TS",
        summary: "events at or after: a duration ago (90m, 2d) or a timestamp (UTC unless zoned)",
      },
      {
        name: "until",
        type: "string",
        placeholder: "D|TS",
        summary: "events at or before: a duration ago or a timestamp",
      },
      { name: "name", type: "string", placeholder: "NAME", summary: "events of this lock only" },
      {
        name: "event",
        type: "string",
        placeholder: "E",
        summary: "these events only, comma-separated: acquire,deny,release,...",
      },
      { name: "owner", type: "string", placeholder: "O", summary: "events by this owner only" },
      {
        name: "limit",
        short: "n",
        type: "integer",
        placeholder: "N",
        summary: "only the last N matching events (with --tail: default 10)",
      },
      {
        name: "tail",
        short: "f",
        type: "boolean",
        summary: "then keep printing new events as they are appended, until Ctrl-C",
      },
      { name: "json", type: "boolean", summary: "one JSON object per line (JSONL), as logged" },
    ],
    description: [
      "Prints the events of the audit log (rotated files included, oldest first), one per " +
      "line: time (UTC), event, lock name, owner@host, agent id, then pid, fence, TTL and " +
      "any extra fields. Filters combine: an event is shown only when it passes all of them.",
      "--tail prints the last matching events (10 unless --limit says otherwise), then follows " +
      "the log across rotations until interrupted; Ctrl-C or SIGTERM ends it with exit 0.",
      "--json prints each event as the JSON line the log holds (JSONL, also with --tail), not " +
      "one JSON document. Unparsable lines are skipped with a warning on stderr.",
      "Events: acquire, deny, wait, timeout, renew, renew-error, release, lost, auto-prune, " +
      "corrupt-break, stale-break, force-break, freeze, unfreeze, force-unfreeze, " +
      "freeze-expire, freeze-deny. " +
      "The command only reads: it creates nothing, not even the lock root.",
    ],
    examples: [
      "lokt audit --since 1h --name build",
      "lokt audit --event force-break,stale-break,lost --owner ana",
      "lokt audit --since 2026-05-01 --until 2026-05-02T12:00:00Z --json",
      "lokt audit --tail --json | jq .",
    ],
    load: () => loadCommand("audit"),
  },
  {
    name: "doctor",
    summary: "check the lock root, clock, liveness probing, leftovers and the audit log",
    usage: "[--json]",
    positionals: [],
    flags: [JSON_FLAG],
    description: [
      "Checks whether lokt can work reliably here, and lists what needs attention: the lock " +
      "root and how it was found, its permissions (0700 expected), whether it is writable " +
      "(create, hard link and kernel lock on a temporary file), the file system type, the " +
      "clock, whether process liveness can be probed, stale locks, corrupt lock files, " +
      "leftover temporary files, stale queue tickets, and the audit log's size and health.",
      "Each check says ok, warn or fail, with a hint on how to fix it. Doctor changes nothing " +
      "(its write probe removes its own file) and never creates the root.",
      "Exit codes: 0 when nothing failed (warnings allowed), 1 when a check failed.",
    ],
    examples: ["lokt doctor", "lokt doctor --json"],
    load: () => loadCommand("doctor"),
  },
  {
    name: "prime",
    summary: "print lokt instructions for an agent tool (CLAUDE.md, .cursorrules, ...)",
    usage: "[--format FORMAT] [--json]  |  lokt prime --mcp TOOL",
    positionals: [],
    flags: [
      {
        name: "format",
        type: "string",
        placeholder: "FORMAT",
        summary: "claude-md (default), cursorrules, windsurfrules, copilot, clinerules or aider",
        choices: ["claude-md", "cursorrules", "windsurfrules", "copilot", "clinerules", "aider"],
      },
      {
        name: "mcp",
        type: "string",
        placeholder: "TOOL",
        summary: "print the setup of `lokt mcp` for claude-code, codex, cursor or generic instead",
        choices: ["claude-code", "codex", "cursor", "generic"],
      },
      JSON_FLAG,
    ],
    description: [
      "Prints instructions that teach an agent to use lokt in this repository, in the file " +
      "flavour its tool reads: CLAUDE.md (claude-md), .cursorrules, .windsurfrules, " +
      ".github/copilot-instructions.md (copilot), .clinerules, or aider's CONVENTIONS.md.",
      "They name the repository's scripts worth guarding (package.json scripts, deno.json " +
      "tasks, Makefile targets, justfile recipes) with the `lokt guard` line for each, the " +
      "locks and freezes held right now, and the rules: guard shared commands, always --wait, " +
      "ask `lokt why` when blocked, never --force someone else's lock, `unlock --all` after a " +
      "restart. Read-only: it never creates the lock root.",
      "--mcp TOOL prints instead how TOOL starts `lokt mcp` (lokt's MCP server), with this " +
      "lokt's own command line: a `claude mcp add` line (claude-code), a [mcp_servers.lokt] " +
      "table for ~/.codex/config.toml (codex), a .cursor/mcp.json file (cursor), or the plain " +
      "command (generic).",
    ],
    examples: [
      "lokt prime >> CLAUDE.md",
      "lokt prime --format cursorrules > .cursorrules",
      "lokt prime --format aider > CONVENTIONS.md",
      "lokt prime --mcp cursor > .cursor/mcp.json",
    ],
    load: () => loadCommand("prime"),
  },
  {
    name: "rules",
    summary: "list lokt.jsonc's guard rules, or show what a command line would get",
    usage: "[COMMAND-LINE] [--json]  |  lokt rules -- COMMAND [ARGS...]",
    positionals: [{ name: "COMMAND-LINE", optional: true }],
    takesCommand: true,
    flags: [JSON_FLAG],
    description: [
      "Lists the `guard` rules of the repository's lokt.jsonc in order (the first whose regex " +
      "finds a match in a command decides for it), or, given a command line, says which rule " +
      "matches it and what the harness hook would run instead.",
      "Exit codes: 0, or 1 when lokt.jsonc cannot be read or a rule is invalid (each problem " +
      "is named with its line and column).",
    ],
    examples: ["lokt rules", 'lokt rules "git push origin main"', "lokt rules -- npm test"],
    load: () => loadCommand("rules"),
  },
  {
    name: "hook",
    summary: "an agent harness's PreToolUse hook: run matching commands under lokt guard",
    usage: "claude-code|codex  |  lokt hook install|uninstall claude-code|codex [--dry-run]",
    positionals: [
      { name: "ACTION", choices: ["claude-code", "codex", "install", "uninstall"] },
      { name: "HARNESS", optional: true },
    ],
    flags: [
      {
        name: "dry-run",
        type: "boolean",
        summary:
          "install/uninstall: print the change to the settings file as a diff, write nothing",
      },
    ],
    description: [
      "`lokt hook claude-code` and `lokt hook codex` are run by the harness before each shell " +
      "command, with the hook input on stdin. A command that a lokt.jsonc `guard` rule matches " +
      "is answered with the same command run under `lokt guard NAME --wait`; an `ask` rule asks " +
      "the user first. Every other command, and any failure, leaves the command as typed (a " +
      "failure says why in one line). Exit code: always 0.",
      "Your permission rules stay in force: lokt judges the command as typed against them, and " +
      "a rewrite never needs less approval than the command would have (docs/hooks.md).",
      "`install` adds the hook to the project's .claude/settings.json or .codex/hooks.json, " +
      "keeping everything else; `uninstall` removes it again. Both do nothing when there is " +
      "nothing to do.",
    ],
    examples: [
      "lokt hook install claude-code --dry-run",
      "lokt hook install claude-code",
      "lokt hook uninstall codex",
    ],
    load: () => loadCommand("hook"),
  },
  {
    name: "mcp",
    summary: "serve MCP over stdio: agents take and release locks as tools",
    usage: "",
    positionals: [],
    flags: [],
    description: [
      "Runs an MCP (Model Context Protocol) server on stdin/stdout for an agent tool such as " +
      "Claude Code, Codex or Cursor, which starts it and talks to it; you do not run it by hand. " +
      "It offers the tools acquire (with FIFO wait, progress and cancellation), release, " +
      "release_all, status, why, freeze and unfreeze, and the resource lokt://status, which " +
      "notifies subscribers when locks change. No tool runs a shell command.",
      "The server's process holds every lock taken through it: such a lock lives while the " +
      "server runs, whatever its TTL, and is stale at once if the server dies. When the client " +
      "closes stdin, or on SIGINT or SIGTERM, the server releases its locks and exits 0.",
      "Locks carry your owner and agent id as for the CLI, plus the client's name and version " +
      "from its initialize request; status and why show them. Logs and warnings go to stderr.",
      "Setup, one line per tool (docs/mcp.md has more, and `lokt prime --mcp TOOL` prints it): " +
      "Claude Code: `claude mcp add lokt -- lokt mcp`; Codex: [mcp_servers.lokt] with " +
      'command = "lokt", args = ["mcp"] in ~/.codex/config.toml; Cursor: .cursor/mcp.json.',
    ],
    examples: [
      "claude mcp add lokt -- lokt mcp",
      "lokt prime --mcp codex >> ~/.codex/config.toml",
    ],
    load: () => loadCommand("mcp"),
  },
  {
    name: "demo",
    summary: "watch workers contend for one lock, live, in a temporary directory",
    usage: "[--workers N] [--rounds N] [--delay D] [--no-lock]",
    positionals: [],
    flags: [
      {
        name: "workers",
        type: "integer",
        placeholder: "N",
        summary: "how many worker processes contend, 1 to 32 (default: 4)",
      },
      {
        name: "rounds",
        type: "integer",
        placeholder: "N",
        summary: "how many updates each worker makes, 1 to 100 (default: 3)",
      },
      {
        name: "delay",
        type: "duration",
        placeholder: "D",
        summary: "pause between reading and writing the counter, up to 1s (default: 20ms)",
      },
      {
        name: "no-lock",
        type: "boolean",
        summary: "skip the lock, to see the updates that get lost without it",
      },
    ],
    description: [
      "Starts real lokt worker processes in a temporary directory with its own lock root, " +
      "removed at the end. Each worker adds 1 to a shared counter file, once per round, the " +
      "slow way: it reads the file, pauses, and writes the file back. Done at the same time, " +
      "two workers read the same value and one update is lost.",
      "Each update holds the lock `demo`, taken with a wait (like `lokt guard demo --wait`), so " +
      "the output shows one worker at a time, each with a higher fence, the counter correct at " +
      "the end, and the audit trail. Exit 0 when the counter is right.",
      "With --no-lock the workers skip the lock: the output shows the lost updates, and the " +
      "command still exits 0, since showing them is what it was asked to do.",
    ],
    examples: ["lokt demo", "lokt demo --workers 8 --rounds 5", "lokt demo --no-lock"],
    load: () => loadCommand("demo"),
  },
  {
    name: "completions",
    summary: "print a completion script for bash, zsh or fish",
    usage: "bash|zsh|fish",
    positionals: [{ name: "SHELL", choices: ["bash", "zsh", "fish"] }],
    flags: [],
    description: [
      "Prints a script that completes lokt's commands, flags and flag values in your shell, " +
      "generated from the same table as `--help`.",
      "bash: add `source <(lokt completions bash)` to ~/.bashrc.",
      "zsh: add `source <(lokt completions zsh)` to ~/.zshrc after compinit, or save the " +
      "script as `_lokt` in a directory of $fpath.",
      "fish: `lokt completions fish > ~/.config/fish/completions/lokt.fish`.",
    ],
    examples: ["source <(lokt completions bash)", "lokt completions fish | source"],
    load: () => loadCommand("completions"),
  },
  {
    name: "version",
    summary: "print the version, commit and build date",
    usage: "[--json]",
    positionals: [],
    flags: [JSON_FLAG],
    description: ["Prints lokt's version, the commit it was built from and the build date."],
    examples: ["lokt version", "lokt version --json"],
    load: () => loadCommand("version"),
  },
];

/** The command named `name`, if any. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
