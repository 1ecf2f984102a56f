/**
 * flock(1) written in Deno: the least any Deno program that runs a command under a lock can
 * cost. It takes the kernel lock of FILE (waiting for it if it is held), runs the command with
 * `Deno.Command` (stdio inherited), drops the lock and exits with the command's code.
 * No record, no queue, no lease, no audit line: what is left of `lokt guard` when everything lokt
 * adds is taken away. The benchmarks run it with Deno's default flags, as they run the empty
 * script, beside `lokt guard` and `flock(1)`: its rows are the floor of a Deno guard.
 *
 *   deno run -A bench/deno_flock.ts FILE CMD [ARGS...]
 */

const [path, command, ...args] = Deno.args;
if (path === undefined || command === undefined) {
  console.error("usage: deno_flock.ts FILE CMD [ARGS...]");
  Deno.exit(64);
}
// As lokt does before it waits: Deno sets up its subprocess machinery on the first use of
// `Deno.Command`, which would otherwise come between the previous holder's release and the
// command's start.
void Deno.Command;
const file = Deno.openSync(path, { read: true, write: true, create: true });
// As lokt takes a name's kernel lock: at once when free, through the blocking call only to wait.
if (!file.tryLockSync(true)) await file.lock(true);
const child = new Deno.Command(command, {
  args,
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
const status = await child.status;
// Dropped before exiting, as lokt releases before it exits: the kernel would drop it only once the
// process's memory is torn down.
file.close();
Deno.exit(status.code);
