/**
 * The instructions `prime` prints, in the file flavour each agent tool reads. Pure: facts in,
 * text out. Every command an agent is meant to run sits alone on a line of a ```sh block, so a
 * reader (or a test) can pick them out and run them.
 */

import { describeFreeze, describeHeldLock, type PrimeFacts } from "./facts.ts";
import type { RepoScript } from "./scripts.ts";
import { shellWord } from "../shell.ts";

/** The agent tools `prime` writes for. */
export const PRIME_FORMATS = [
  "claude-md",
  "cursorrules",
  "windsurfrules",
  "copilot",
  "clinerules",
  "aider",
] as const;

/** One of {@link PRIME_FORMATS}. */
export type PrimeFormat = typeof PRIME_FORMATS[number];

/** The file each tool reads its instructions from, relative to the repository. */
export const PRIME_FILES: Record<PrimeFormat, string> = {
  "claude-md": "CLAUDE.md",
  cursorrules: ".cursorrules",
  windsurfrules: ".windsurfrules",
  copilot: ".github/copilot-instructions.md",
  clinerules: ".clinerules",
  aider: "CONVENTIONS.md",
};

export { shellWord } from "../shell.ts";

/** The command line to suggest for a script: its guard, or the script itself if it guards. */
export function suggestion(script: RepoScript): string {
  const command = script.command.map(shellWord).join(" ");
  if (script.guarded) return command;
  return `lokt guard ${script.lockName} --ttl ${script.ttl} --wait -- ${command}`;
}

/** The name used in examples: the first script's lock, else `build`. */
function exampleName(facts: PrimeFacts): string {
  return facts.scripts.find((s) => !s.guarded)?.lockName ?? facts.scripts[0]?.lockName ?? "build";
}

function fence(lines: string[], lang = "sh"): string {
  return ["```" + lang, ...lines, "```"].join("\n");
}

function guardBlock(facts: PrimeFacts): string {
  if (facts.scripts.length === 0) {
    return "No build, test, lint, migration or deploy scripts were found in this repository " +
      "(package.json, deno.json, Makefile, justfile). Wrap any long or shared command like " +
      "this: `lokt guard NAME --ttl 10m --wait -- COMMAND ARGS...`, with NAME naming what it " +
      "protects (`build`, `test-db`, `port-3000`).";
  }
  const lines = facts.scripts.map(suggestion);
  const already = facts.scripts.filter((s) => s.guarded).map((s) => `\`${s.script}\``);
  const note = already.length === 0
    ? ""
    : `\n\n${already.join(", ")} already run${already.length === 1 ? "s" : ""} \`lokt guard\` ` +
      "inside: run as they are.";
  return fence(lines) + note;
}

function checkBlock(facts: PrimeFacts): string {
  return fence(["lokt status", `lokt why ${exampleName(facts)}`, "lokt unlock --all"]);
}

/** The rules, one sentence or two each. */
function rules(facts: PrimeFacts): string[] {
  const name = exampleName(facts);
  return [
    "Run builds, tests, migrations, deploys and anything else that shares state (build output, " +
    "a database, a port) through `lokt guard`, as above. Two commands guarded by the same name " +
    "never run at once, whoever starts them.",
    "Always pass `--wait`: lokt queues you (first come, first served) and starts the command " +
    "when the lock is free. Do not retry in a loop, and never run the bare command to get " +
    "around a lock.",
    `When a command waits long or exits 2 (held, frozen, or \`--timeout\` ran out), run ` +
    `\`lokt why ${name}\`: it says who holds the lock, since when, whether that holder is alive, ` +
    "and who is queued. Tell the user if it looks stuck; do other work meanwhile.",
    "Never run `lokt unlock NAME --force` on a lock you did not take unless its holder is " +
    "gone and the user agrees: it stops the holder's command. `lokt unlock NAME " +
    "--break-stale` is the safe form: it only removes a lock whose holder is dead.",
    "A frozen name (`lokt freeze`) stays closed until its TTL ends or its owner runs " +
    "`lokt unfreeze`: wait or ask, do not unfreeze it yourself.",
    "After a restart or a lost context, run `lokt unlock --all`: it releases the locks you " +
    "took with `lokt lock` and still hold, and nobody else's.",
    "`lokt guard` exits with the command's own code. Exit 75 means the lock was broken while " +
    "the command ran and lokt stopped it: check `lokt why`, then run it again.",
  ];
}

const IDENTITY = "lokt tells agents apart by their session: it recognises Claude Code, Codex, " +
  "OpenCode, Gemini CLI and Cursor's agent by itself, and otherwise uses the terminal session. " +
  "If several agents share one shell, give each its own `LOKT_AGENT_ID`. `lokt status` shows " +
  "who you are to lokt.";

function stateLines(facts: PrimeFacts): string[] {
  if (facts.shared !== undefined) {
    return ["Not listed: the locks are in the shared database; `lokt status` shows them."];
  }
  const lines = [
    ...facts.locks.map(describeHeldLock),
    ...facts.freezes.map(describeFreeze),
    ...facts.unreadable.map((n) => `\`${n}\`: unreadable lock file (\`lokt why ${n}\` explains)`),
  ];
  return lines.length === 0 ? ["No locks or freezes were held."] : lines;
}

/** The paragraph about lokt.jsonc's rules, or none when there are none. */
function guardedBlock(facts: PrimeFacts): string[] {
  const rules = facts.guarded ?? [];
  if (rules.length === 0) return [];
  const lines = rules.map((r) =>
    r.lockName !== undefined
      ? `commands matching \`/${r.pattern}/\` run under the lock \`${r.lockName}\``
      : `commands matching \`/${r.pattern}/\` need the user's confirmation: ${r.ask}`
  );
  return [
    "This repository's lokt.jsonc guards some commands by itself: with lokt's hook installed " +
    "in Claude Code or Codex (`lokt hook install claude-code`), a matching command is rewritten " +
    "to run under `lokt guard NAME --wait`, and you see the rewritten command. Run these " +
    'commands as usual; `lokt rules "COMMAND"` says what one would get. If it ends with exit ' +
    "2, the lock was busy for too long: the message says who holds it.",
    bullets(lines),
  ];
}

function bullets(items: string[]): string {
  return items.map((item) => `- ${item}`).join("\n");
}

function numbered(items: string[]): string {
  return items.map((item, i) => `${i + 1}. ${item}`).join("\n");
}

const INTRO = "Several agents and people work in this repository at once. Commands that share " +
  "state are serialized with lokt, a lock tool: run them through " +
  "`lokt guard`, which waits its turn and runs the command alone.";

/** The paragraph about a shared backend, or none when locks are this machine's files. */
function sharedBlock(facts: PrimeFacts): string[] {
  const shared = facts.shared;
  if (shared === undefined) return [];
  const where = shared.namespace === undefined
    ? `${shared.location} (no namespace is set yet: set LOKT_NAMESPACE or "namespace" in lokt.jsonc)`
    : `${shared.location}, namespace \`${shared.namespace}\``;
  return [
    "Here the locks are shared with other machines (containers, CI runners) through a " +
    `PostgreSQL database: ${where}. The same commands work; agents elsewhere wait for the ` +
    "same names. Other machines cannot see your processes, so give every plain lock a TTL " +
    "(`lokt lock NAME --ttl 10m`): without one it lasts until `lokt unlock`. `lokt guard` " +
    "keeps its own lease (30 s unless `--ttl`) and stops its command (exit 75) if it cannot " +
    "renew it in time.",
  ];
}

function markdown(facts: PrimeFacts, level: number, title: string): string {
  const h = "#".repeat(level);
  const sub = "#".repeat(level + 1);
  return [
    `${h} ${title}`,
    INTRO,
    ...sharedBlock(facts),
    `${sub} Run these through lokt`,
    guardBlock(facts),
    ...guardedBlock(facts),
    `${sub} Rules`,
    numbered(rules(facts)),
    `${sub} Looking around`,
    "`lokt status` lists every lock and freeze; `lokt why NAME` explains one; " +
    "`lokt unlock --all` cleans up after a restart:",
    checkBlock(facts),
    IDENTITY,
    `${sub} Locks when this was generated`,
    "A snapshot: `lokt status` shows the current state.",
    bullets(stateLines(facts)),
  ].join("\n\n") + "\n";
}

function cursorRules(facts: PrimeFacts): string {
  return [
    "# lokt: shared commands in this repository",
    INTRO,
    ...sharedBlock(facts),
    "Run these exactly like this:",
    guardBlock(facts),
    ...guardedBlock(facts),
    "Rules:",
    bullets(rules(facts)),
    "Checking and cleaning up:",
    checkBlock(facts),
    IDENTITY,
    "Locks when this was generated (`lokt status` shows the current state):",
    bullets(stateLines(facts)),
  ].join("\n\n") + "\n";
}

/** Windsurf caps rule files: this one stays short. */
function windsurfRules(facts: PrimeFacts): string {
  const name = exampleName(facts);
  return [
    "# lokt (shared-command locks)",
    "Run shared commands only through lokt guard, always with --wait:",
    guardBlock(facts),
    ...guardedBlock(facts),
    ...(facts.shared === undefined
      ? []
      : ["Locks are shared with other machines: give plain locks a --ttl."]),
    bullets([
      `Exit 2 or a long wait: run \`lokt why ${name}\` to see who holds it; never retry in a loop.`,
      "Never `lokt unlock NAME --force` a lock you did not take; `--break-stale` removes only " +
      "dead holders' locks.",
      "Frozen names: wait, do not unfreeze.",
      "After a restart: `lokt unlock --all`. Exit 75 from guard: the lock was broken, run again.",
    ]),
    checkBlock(facts),
    "At generation: " + stateLines(facts).join("; "),
  ].join("\n\n") + "\n";
}

function clineRules(facts: PrimeFacts): string {
  return markdown(facts, 1, "lokt: shared commands in this repository");
}

function aiderConventions(facts: PrimeFacts): string {
  const test = facts.scripts.find((s) => /^test$|^test[:_-]/.test(s.script));
  const config = ["read: CONVENTIONS.md"];
  // Not lint-cmd: aider appends the edited files to it, which a Makefile target would not take.
  if (test) config.push(`test-cmd: ${suggestion(test)}`);
  return markdown(facts, 1, "Conventions: shared commands run through lokt") + "\n" + [
    "## Aider setup",
    (test
      ? "Load these conventions, and let the tests aider runs take the same lock, in "
      : "Load these conventions in ") +
    "`.aider.conf.yml`:",
    fence(config, "yaml"),
  ].join("\n\n") + "\n";
}

/** The instructions for `format`, generated from `facts`. */
export function renderPrime(facts: PrimeFacts, format: PrimeFormat): string {
  switch (format) {
    case "claude-md":
      return markdown(facts, 2, "Shared commands: use lokt");
    case "copilot":
      return markdown(facts, 1, "Shared commands in this repository: use lokt");
    case "cursorrules":
      return cursorRules(facts);
    case "windsurfrules":
      return windsurfRules(facts);
    case "clinerules":
      return clineRules(facts);
    case "aider":
      return aiderConventions(facts);
  }
}
