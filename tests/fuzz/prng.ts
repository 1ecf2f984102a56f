/**
 * A small seeded random generator and the fuzz loop the fuzzers share. Every case draws from its
 * own generator, seeded from the run's seed and the case number, so one failing case can be
 * replayed alone (`LOKT_FUZZ_SEED=S LOKT_FUZZ_CASE=N`) without running the ones before it.
 *
 * Settings, all from the environment:
 *   LOKT_FUZZ_SEED        run seed (default 20261122; `random` picks one and prints it)
 *   LOKT_FUZZ_ITERATIONS  cases per fuzzer (default 5000)
 *   LOKT_FUZZ_TIME_MS     time bound per fuzzer, 0 for none (default 3000)
 *   LOKT_FUZZ_CASE        run only this case number
 */

/** The seed used when `LOKT_FUZZ_SEED` is not set. */
export const DEFAULT_SEED = 20261122;
/** Cases per fuzzer when `LOKT_FUZZ_ITERATIONS` is not set. */
export const DEFAULT_ITERATIONS = 5000;
/** Time bound per fuzzer when `LOKT_FUZZ_TIME_MS` is not set. */
export const DEFAULT_TIME_MS = 3000;

/** mulberry32: a 32-bit state generator, good enough to spread test inputs, and tiny. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Mixes the run seed and a case number into the seed of that case. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Random choices for one case. */
export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    return this.#next();
  }

  /** A float in [0, 1). */
  float(): number {
    return this.#next() / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A length, mostly short, sometimes up to `max`. */
  length(max: number): number {
    const r = this.float();
    if (r < 0.6) return this.int(Math.min(max, 8) + 1);
    if (r < 0.9) return this.int(Math.min(max, 64) + 1);
    return this.int(max + 1);
  }

  /** A string of up to `max` characters drawn from `alphabet` (a string or a list of pieces). */
  string(alphabet: string | readonly string[], max: number): string {
    const pieces = typeof alphabet === "string" ? [...alphabet] : alphabet;
    let out = "";
    for (let i = this.length(max); i > 0; i--) out += this.pick(pieces);
    return out;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Characters that tend to break parsers: controls, quotes, separators, non-ASCII, surrogates. */
export const NASTY_CHARS: readonly string[] = [
  "\0",
  "\n",
  "\r",
  "\t",
  " ",
  "\u00a0",
  '"',
  "'",
  "\\",
  "/",
  "=",
  "-",
  "--",
  ".",
  "..",
  "%",
  "$",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "é",
  "ß",
  "İ",
  "Ⅻ",
  "٣",
  "１",
  "µ",
  "ｍ",
  "\u200b",
  "\u202e",
  "\ufeff",
  "😀",
  "\ud800",
  "\udfff",
];

/** The settings of a fuzz run. */
export interface FuzzSettings {
  seed: number;
  iterations: number;
  /** 0 means no time bound. */
  timeMs: number;
  /** Run only this case. */
  only?: number;
}

function envNumber(name: string): number | undefined {
  const text = Deno.env.get(name)?.trim();
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number`);
  return n;
}

let randomSeed: number | undefined;

/** Reads the settings from the environment. */
export function fuzzSettings(): FuzzSettings {
  const seedText = Deno.env.get("LOKT_FUZZ_SEED")?.trim();
  let seed = DEFAULT_SEED;
  if (seedText === "random") {
    seed = randomSeed ??= crypto.getRandomValues(new Uint32Array(1))[0];
  } else if (seedText) {
    seed = envNumber("LOKT_FUZZ_SEED")! >>> 0;
  }
  return {
    seed,
    iterations: envNumber("LOKT_FUZZ_ITERATIONS") ?? DEFAULT_ITERATIONS,
    timeMs: envNumber("LOKT_FUZZ_TIME_MS") ?? DEFAULT_TIME_MS,
    only: envNumber("LOKT_FUZZ_CASE"),
  };
}

/** Shows a generated input so that it can be read and pasted (escapes everything unusual). */
export function show(value: unknown): string {
  if (value instanceof Uint8Array) {
    const text = new TextDecoder().decode(value);
    return `bytes(${value.length}) ${JSON.stringify(text)}`;
  }
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
  } catch {
    // fall through
  }
  return Deno.inspect(value);
}

/** What a fuzz run did. */
export interface FuzzReport {
  cases: number;
  seed: number;
}

/**
 * Generates cases and checks each, until the iteration count or the time bound is reached.
 * Prints the seed and the number of cases; on a failure, throws with the seed, the case number,
 * the input and the command that replays it.
 */
export async function fuzz<T>(
  name: string,
  generate: (rng: Rng) => T,
  check: (input: T, index: number) => void | Promise<void>,
  options: {
    file?: string;
    /** Run this share of the iterations (for fuzzers that touch the disk). */
    share?: number;
    /**
     * Cases come in groups of this size that share state (a lock root): replaying one case runs
     * its group from the start up to it.
     */
    group?: number;
  } = {},
): Promise<FuzzReport> {
  const settings = fuzzSettings();
  const limit = Math.ceil(settings.iterations * (options.share ?? 1));
  const started = performance.now();
  const group = options.group ?? 1;
  const first = settings.only === undefined ? 0 : settings.only - (settings.only % group);
  const last = settings.only !== undefined ? settings.only + 1 : limit;
  let cases = 0;
  for (let index = first; index < last; index++) {
    // The time bound ends a run only at the end of a group.
    if (
      settings.only === undefined && settings.timeMs > 0 && cases > 0 && index % group === 0 &&
      performance.now() - started > settings.timeMs
    ) break;
    const input = generate(new Rng(caseSeed(settings.seed, index)));
    try {
      await check(input, index);
    } catch (error) {
      const file = options.file ?? "tests/fuzz";
      throw new Error(
        `fuzz "${name}" failed at case ${index} with seed ${settings.seed}\n` +
          `input: ${show(input)}\n` +
          `replay: LOKT_FUZZ_SEED=${settings.seed} LOKT_FUZZ_CASE=${index} ` +
          `deno test -A ${file}\n` +
          `${error instanceof Error ? error.stack ?? error.message : String(error)}`,
      );
    }
    cases++;
  }
  const ms = Math.round(performance.now() - started);
  console.log(`fuzz ${name}: seed ${settings.seed}, ${cases} cases in ${ms} ms`);
  return { cases, seed: settings.seed };
}
