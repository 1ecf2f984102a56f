/** The shape of the command table: what each command accepts, for parsing, help and completions. */

import type { Session } from "./session.ts";

/** How a flag's value is read. */
export type FlagType = "boolean" | "string" | "duration" | "integer";

/** One flag of a command. */
export interface FlagSpec {
  /** Long name without dashes: `ttl` for `--ttl`. */
  name: string;
  /** One-letter alias without the dash. */
  short?: string;
  type: FlagType;
  /** Value placeholder in help: `D`, `PID`. */
  placeholder?: string;
  summary: string;
  /** Fixed set of accepted values (completions offer them). */
  choices?: readonly string[];
}

/** A positional argument. */
export interface PositionalSpec {
  name: string;
  optional?: boolean;
  /** Fixed set of accepted values (completions offer them). */
  choices?: readonly string[];
}

/** Parsed flag values by long name. */
export type FlagValues = Record<string, string | number | boolean | undefined>;

/** A parsed command line. */
export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
  /** Everything after `--`, for commands that run a command. */
  command?: string[];
}

/** A command's implementation, loaded only when it runs. */
export interface CommandModule {
  run(args: ParsedArgs, session: Session): Promise<number> | number;
}

/** One command of the table. */
export interface CommandSpec {
  name: string;
  /** One line, lower case, no full stop. */
  summary: string;
  /** Usage line after `lokt <name> `. */
  usage: string;
  positionals: PositionalSpec[];
  flags: FlagSpec[];
  /** Takes a command after `--`. */
  takesCommand?: boolean;
  /** Paragraphs of help text. */
  description: string[];
  examples: string[];
  load(): Promise<CommandModule>;
}
