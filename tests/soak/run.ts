/**
 * The soak, on demand: `deno task soak`. Prints progress, then the summary, and exits 1 if any
 * check failed.
 *
 *   LOKT_SOAK_SECONDS  how long the workers run (default 60)
 *   LOKT_SOAK_SEED     the seed of the workers' choices (default: a random one, printed)
 *   LOKT_SOAK_WORKERS  how many workers (default 16)
 *   LOKT_SOAK_KILL_PERCENT  share of guards SIGKILLed, in percent (default 15)
 *   LOKT_SOAK_KEEP=1   keep the scratch directory and print where it is
 */

import { describeSoak, problems, runSoak, SOAK_DEFAULTS } from "./soak.ts";

function envNumber(name: string, fallback: number): number {
  const text = Deno.env.get(name)?.trim();
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`${name} must be a whole number, not "${text}"`);
    Deno.exit(64);
  }
  return n;
}

if (Deno.build.os !== "linux") {
  console.error("the soak runs on Linux only: it reads /proc for liveness and memory");
  Deno.exit(1);
}

const seconds = envNumber("LOKT_SOAK_SECONDS", 60);
const seed = envNumber("LOKT_SOAK_SEED", crypto.getRandomValues(new Uint32Array(1))[0]) >>> 0;
const workers = envNumber("LOKT_SOAK_WORKERS", SOAK_DEFAULTS.workers);
const killShare = envNumber("LOKT_SOAK_KILL_PERCENT", SOAK_DEFAULTS.killShare * 100) / 100;
const keep = Deno.env.get("LOKT_SOAK_KEEP") === "1";
const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-soak-" }));

let failed: string[];
try {
  const report = await runSoak({
    dir,
    durationMs: seconds * 1000,
    seed,
    workers,
    killShare,
    log: (line) => console.log(line),
  });
  console.log(describeSoak(report));
  failed = problems(report);
} finally {
  if (keep) console.log(`scratch directory kept: ${dir}`);
  else Deno.removeSync(dir, { recursive: true });
}
if (failed.length > 0) {
  console.log(`\nFAILED (replay with LOKT_SOAK_SEED=${seed}):\n- ${failed.join("\n- ")}`);
  Deno.exit(1);
}
console.log("\nsoak passed");
