/**
 * Real `lokt guard` processes contending for one name, with a witness in the guarded command:
 * the command itself proves that it ran alone (`mkdir` of a shared directory fails for a second
 * runner). Guards are killed at random moments; queued waiters must be served in order.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { HALTING_MAIN, MAIN, tempDir } from "../helpers/cli.ts";

const decoder = new TextDecoder();

/** A command that records an overlap if another witnessed command is running. */
function witness(dir: string, holdSeconds: number, tag = "w"): string[] {
  return [
    "sh",
    "-c",
    `if mkdir "${dir}/busy" 2>/dev/null; then echo ${tag} $$ >> "${dir}/entries"; ` +
    `sleep ${holdSeconds}; rmdir "${dir}/busy"; else echo $$ >> "${dir}/overlaps"; fi`,
  ];
}

function lines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

/** A plain environment: the OS user's, nothing that tells holders apart. */
function plainEnv(root: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    LOKT_ROOT: root,
    NO_COLOR: "1",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return env;
}

function guard(args: string[], env: Record<string, string>, entry = MAIN): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", entry, "guard", ...args],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("guards of the same OS user, with nothing else to tell them apart, never overlap", async () => {
  using root = tempDir();
  using marks = tempDir();
  const env = plainEnv(root.path);
  const rounds = 4;
  const loops = Array.from({ length: 4 }, async () => {
    for (let i = 0; i < rounds; i++) {
      const child = guard(["x", "--wait", "--quiet", "--", ...witness(marks.path, 0.05)], env);
      const out = await child.output();
      assertEquals(out.code, 0, decoder.decode(out.stderr));
    }
  });
  await Promise.all(loops);
  assertEquals(lines(`${marks.path}/overlaps`), [], "two guarded commands ran at once");
  assertEquals(lines(`${marks.path}/entries`).length, 4 * rounds);
});

Deno.test("a guard SIGKILLed at a random moment never lets a second command in", async () => {
  using root = tempDir();
  using marks = tempDir();
  const env = plainEnv(root.path);
  const lockFile = `${root.path}/locks/x.json`;
  const recorded = () => {
    try {
      return JSON.parse(Deno.readTextFileSync(lockFile)).child_pid > 0;
    } catch {
      return false;
    }
  };
  const exists = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  const rounds = 18;
  const phases = ["at random", "as soon as it holds the lock", "once its command runs"] as const;
  for (let round = 0; round < rounds; round++) {
    const phase = phases[round % phases.length];
    const victim = guard(
      ["x", "--ttl", "1h", "--wait", "--quiet", "--", ...witness(marks.path, 0.3, "victim")],
      env,
    );
    const contend = () =>
      guard(["x", "--ttl", "1h", "--wait", "--quiet", "--", ...witness(marks.path, 0.05)], env);
    let other: Deno.ChildProcess;
    if (phase === "at random") {
      other = contend();
      await new Promise((r) => setTimeout(r, Math.random() * 400));
    } else {
      // The victim holds the lock when the contender starts: the kill lands at the moment the
      // lock file appears (around the spawn of the command) or while the command runs.
      await until("the victim to hold the lock", () => exists(lockFile));
      if (phase === "once its command runs") {
        await until("the victim's command to be recorded", recorded);
        await new Promise((r) => setTimeout(r, Math.random() * 100));
      } else {
        await new Promise((r) => setTimeout(r, Math.random() * 30));
      }
      other = contend();
    }
    try {
      victim.kill("SIGKILL");
    } catch (error) {
      // At random, the victim may have run its command to the end before the kill: a round
      // without a kill, still checked for overlap.
      if (!(error instanceof TypeError)) throw error;
    }
    await victim.status;
    const out = await other.output();
    assertEquals(out.code, 0, decoder.decode(out.stderr));
    // The victim's command may still be running (it keeps the lock); let it end.
    await until("the witness to be released", () => !exists(`${marks.path}/busy`));
  }
  assertEquals(lines(`${marks.path}/overlaps`), [], "a guarded command overlapped another");
  const victims = lines(`${marks.path}/entries`).filter((l) => l.startsWith("victim")).length;
  console.log(`${rounds} rounds; the victim's command ran in ${victims} of them`);
  assert(victims > 0, "no round killed a guard whose command was running");
});

Deno.test(
  "a guard killed right after it spawned its command, before recording it, keeps the lock",
  {
    ignore: Deno.build.os !== "linux", // finding the unrecorded command needs /proc
  },
  async () => {
    using root = tempDir();
    using marks = tempDir();
    const env = plainEnv(root.path);
    for (let round = 0; round < 3; round++) {
      const victim = guard(
        ["x", "--ttl", "1h", "--", ...witness(marks.path, 0.4, "victim")],
        { ...env, LOKT_HALT_AT: "guard.spawned" },
        HALTING_MAIN,
      );
      const status = await victim.status;
      assertEquals(status.signal, "SIGKILL", "the guard must halt right after the spawn");
      const other = guard(
        ["x", "--ttl", "1h", "--wait", "--quiet", "--", ...witness(marks.path, 0.05)],
        env,
      );
      const out = await other.output();
      assertEquals(out.code, 0, decoder.decode(out.stderr));
      await until("the witness to be released", () => {
        try {
          Deno.statSync(`${marks.path}/busy`);
          return false;
        } catch {
          return true;
        }
      });
    }
    assertEquals(
      lines(`${marks.path}/overlaps`),
      [],
      "the contender ran beside the orphaned command",
    );
    const victims = lines(`${marks.path}/entries`).filter((l) => l.startsWith("victim")).length;
    assertEquals(victims, 3, "every orphaned command ran");
  },
);

Deno.test("eight queued waiters acquire in the order they queued; a killed waiter is skipped", async () => {
  using root = tempDir();
  using marks = tempDir();
  const env = plainEnv(root.path);
  const order = `${marks.path}/order`;
  const hold = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "lock", "x"],
    env: { ...env, LOKT_NO_DETECT: "1", LOKT_AGENT_ID: "holder" },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  });
  assertEquals((await hold.output()).code, 0);
  const queue = `${root.path}/queue/x`;
  const tickets = () => {
    try {
      return [...Deno.readDirSync(queue)].filter((e) => e.name.endsWith(".json")).length;
    } catch {
      return 0;
    }
  };
  const waiters: Deno.ChildProcess[] = [];
  for (let i = 0; i < 8; i++) {
    waiters.push(guard(["x", "--wait", "--quiet", "--", "sh", "-c", `echo ${i} >> ${order}`], env));
    await until(`waiter ${i}'s ticket`, () => tickets() === i + 1).catch(async (error) => {
      waiters[i].kill("SIGKILL");
      const out = await waiters[i].output();
      throw new Error(
        `${error.message}: ${tickets()} tickets; waiter said: ${decoder.decode(out.stderr)}`,
      );
    });
  }
  waiters[2].kill("SIGKILL");
  await waiters[2].status;
  const unlock = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "unlock", "x"],
    env: { ...env, LOKT_NO_DETECT: "1", LOKT_AGENT_ID: "holder" },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  });
  assertEquals((await unlock.output()).code, 0);
  for (const [i, waiter] of waiters.entries()) {
    if (i === 2) continue;
    const out = await waiter.output();
    assertEquals(out.code, 0, `waiter ${i}: ${decoder.decode(out.stderr)}`);
  }
  assertEquals(lines(order), ["0", "1", "3", "4", "5", "6", "7"]);
  assertEquals(tickets(), 0, "no ticket left behind");
});
