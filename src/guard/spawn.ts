/** Starting the guarded command: directly (no shell), inheriting stdio, env and cwd. */

/** A running command. */
export interface Child {
  pid: number;
  /** Resolves with the exit code (128+N after death by signal N) and the signal, if any. */
  status: Promise<{ code: number; signal: Deno.Signal | null }>;
  kill(signal: Deno.Signal): void;
}

/** Why a command could not start. */
export type SpawnFailure = { kind: "not-found" | "not-executable"; message: string };

/** Starts a command or says why it cannot; injectable for tests. */
export type Spawner = (command: string[], env: Record<string, string>) => Child | SpawnFailure;

/**
 * Loads Deno's subprocess machinery, which it sets up on the first use of `Deno.Command` (about
 * 2 ms, measured). A guard pays that once either way; a guard that is about to wait pays it
 * before, so that it is not between the previous holder's release and its own command's start.
 */
export function prepareSpawn(): void {
  void Deno.Command;
}

/** Spawns with Deno.Command; `env` is added to this process's environment. */
export function realSpawn(command: string[], env: Record<string, string>): Child | SpawnFailure {
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command(command[0], {
      args: command.slice(1),
      env,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Deno.errors.NotFound) return { kind: "not-found", message };
    return { kind: "not-executable", message };
  }
  return {
    pid: process.pid,
    status: process.status.then((s) => ({ code: s.code, signal: s.signal })),
    kill(signal) {
      try {
        process.kill(signal);
      } catch {
        // it has exited already
      }
    },
  };
}
