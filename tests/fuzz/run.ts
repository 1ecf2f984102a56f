/**
 * `deno task fuzz`: the fuzzers, run long. Defaults to 200,000 cases per fuzzer and a bound of
 * two minutes each; `LOKT_FUZZ_ITERATIONS`, `LOKT_FUZZ_TIME_MS` and `LOKT_FUZZ_SEED` override
 * them (`LOKT_FUZZ_SEED=random` picks a new seed). Extra arguments go to `deno test`
 * (`deno task fuzz --filter lockfile`).
 */

const here = new URL(".", import.meta.url).pathname;
const env: Record<string, string> = {
  LOKT_FUZZ_ITERATIONS: Deno.env.get("LOKT_FUZZ_ITERATIONS") ?? "200000",
  LOKT_FUZZ_TIME_MS: Deno.env.get("LOKT_FUZZ_TIME_MS") ?? "120000",
};
const seed = Deno.env.get("LOKT_FUZZ_SEED");
if (seed === "random") env.LOKT_FUZZ_SEED = String(crypto.getRandomValues(new Uint32Array(1))[0]);
console.log(
  `fuzzing with LOKT_FUZZ_SEED=${env.LOKT_FUZZ_SEED ?? seed ?? "(default)"} ` +
    `LOKT_FUZZ_ITERATIONS=${env.LOKT_FUZZ_ITERATIONS} LOKT_FUZZ_TIME_MS=${env.LOKT_FUZZ_TIME_MS}`,
);
const status = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", ...Deno.args, here],
  env,
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
Deno.exit(status.code);
