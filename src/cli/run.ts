/** The CLI entry: `run(argv, world)` returns the exit code, so the whole CLI runs in-process. */

import { asIoError, describeError, LoktError, UsageError } from "../errors.ts";
import { BUILD_INFO } from "../build_info.ts";
import { closest, parseArgs } from "./args.ts";
import { phase } from "../phases.ts";
import { EXIT, exitCodeFor } from "./exit.ts";
import { lazy } from "../lazy.ts";
import { Session } from "./session.ts";
import { COMMANDS, findCommand } from "./table.ts";
import type { World } from "./world.ts";

/** The help texts, loaded only to print one. */
function loadHelp(): Promise<typeof import("./help.ts")> {
  return import(lazy("./help.ts"));
}

async function report(session: Session, thrown: unknown, json: boolean): Promise<number> {
  // A file-system error that nothing wrapped is still the machine's state, not a bug in lokt.
  const error = asIoError(thrown) ?? thrown;
  const code = exitCodeFor(error);
  if (error instanceof LoktError) {
    // Loaded only on this path: it knows every engine error, which a command that succeeds
    // should not have to load.
    const { hintFor }: typeof import("./hints.ts") = await import(lazy("./hints.ts"));
    const hint = hintFor(error);
    session.err(`error: ${error.message}\n`);
    if (hint) session.err(`hint: ${hint}\n`);
    if (error !== thrown && session.world.env("LOKT_DEBUG") && thrown instanceof Error) {
      session.err(`${thrown.stack}\n`);
    }
    if (json) {
      session.json({
        ok: false,
        error: { code: error.code, message: error.message, hint: hint ?? "" },
      });
    }
    return code;
  }
  session.err(`error: ${describeError(error)}\n`);
  if (session.world.env("LOKT_DEBUG") && error instanceof Error && error.stack) {
    session.err(`${error.stack}\n`);
  } else {
    session.err("hint: this is a bug in lokt; rerun with LOKT_DEBUG=1 for details and report it\n");
  }
  if (json) {
    session.json({
      ok: false,
      error: { code: "internal", message: describeError(error), hint: "" },
    });
  }
  return code;
}

/** Runs one lokt command line (without the program name) and returns its exit code. */
export async function run(argv: readonly string[], world: World): Promise<number> {
  const session = new Session(world);
  // `deno task lokt -- status` hands the task's own `--` through as the first word.
  const [name, ...rest] = argv[0] === "--" ? argv.slice(1) : argv;
  if (name === undefined) {
    const { rootHelp } = await loadHelp();
    world.out(rootHelp(COMMANDS, BUILD_INFO.version));
    return EXIT.usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = rest[0] === undefined ? undefined : findCommand(rest[0]);
    const { commandHelp, rootHelp } = await loadHelp();
    world.out(topic ? commandHelp(topic) : rootHelp(COMMANDS, BUILD_INFO.version));
    return rest[0] !== undefined && topic === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-V") return run(["version", ...rest], world);

  const spec = findCommand(name);
  if (spec === undefined) {
    const guess = closest(name, COMMANDS.map((c) => c.name));
    return report(
      session,
      new UsageError(
        `unknown command "${name}"`,
        guess ? `did you mean \`lokt ${guess}\`? (see \`lokt --help\`)` : "see `lokt --help`",
      ),
      false,
    );
  }

  const dash = rest.indexOf("--");
  const json = spec.flags.some((f) => f.name === "json") &&
    (dash < 0 ? rest : rest.slice(0, dash)).some((a) => a === "--json" || a === "--json=true");
  try {
    const parsed = parseArgs(spec, rest);
    if (parsed.kind === "help") {
      const { commandHelp } = await loadHelp();
      world.out(commandHelp(spec));
      return EXIT.ok;
    }
    phase("parsed");
    const module = await spec.load();
    phase("loaded");
    return await module.run(parsed.args, session);
  } catch (error) {
    return await report(session, error, json);
  } finally {
    await session.close();
  }
}
