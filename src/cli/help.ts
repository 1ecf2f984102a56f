/** Help text, generated from the command table. */

import { HELP_FLAG } from "./args.ts";
import type { CommandSpec, FlagSpec } from "./spec.ts";

function wrap(text: string, indent: string, width = 96): string {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line.length > 0 && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(indent + line);
  return lines.join("\n");
}

function flagLabel(flag: FlagSpec): string {
  const short = flag.short ? `-${flag.short}, ` : "    ";
  const value = flag.type === "boolean" ? "" : ` ${flag.placeholder ?? flag.type.toUpperCase()}`;
  return `${short}--${flag.name}${value}`;
}

/** The `--help` text of one command. */
export function commandHelp(spec: CommandSpec): string {
  const flags = [...spec.flags, HELP_FLAG];
  const labels = flags.map(flagLabel);
  const width = Math.max(...labels.map((l) => l.length)) + 3;
  const out: string[] = [];
  out.push(`lokt ${spec.name}: ${spec.summary}`, "");
  out.push("Usage:", `  lokt ${spec.name} ${spec.usage}`.trimEnd(), "");
  out.push("Flags:");
  flags.forEach((flag, i) => {
    const summary = flag.choices ? `${flag.summary} (${flag.choices.join(", ")})` : flag.summary;
    out.push(`  ${labels[i].padEnd(width)}${summary}`);
  });
  out.push("");
  if (spec.positionals.length > 0) {
    const names = spec.positionals.map((p) => p.name).join(" ");
    const tail = spec.takesCommand ? "; everything after `--` is the command" : "";
    out.push(`Flags may come before or after ${names}${tail}.`, "");
  }
  for (const paragraph of spec.description) out.push(wrap(paragraph, ""), "");
  if (spec.examples.length > 0) {
    out.push("Examples:");
    for (const example of spec.examples) out.push(`  ${example}`);
    out.push("");
  }
  return out.join("\n");
}

/** The `lokt --help` text. */
export function rootHelp(commands: readonly CommandSpec[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  const lines = [
    `lokt ${version}: lock coordination for agents, terminals and scripts sharing a repository`,
    "",
    "Usage:",
    "  lokt COMMAND [ARGS] [FLAGS]",
    "  lokt COMMAND --help",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Start with:",
    "  lokt guard build --ttl 5m -- make build    # one build at a time",
    "  lokt status                                 # who holds what",
    "",
    "Environment:",
    "  LOKT_ROOT        lock root (default: <git common dir>/lokt, else the nearest .lokt)",
    "  LOKT_OWNER       owner name (default: your user name)",
    "  LOKT_AGENT_ID    agent id (default: detected agent session or terminal session)",
    "  LOKT_NO_DETECT   set to 1 to turn agent and session detection off",
    "",
    "Exit codes: 0 ok, 1 error, 2 held/frozen/timed out, 3 not found, 4 not the owner,",
    "64 usage error, 128+N interrupted by signal N. `guard` exits with its command's status.",
    "",
  ];
  return lines.join("\n");
}
