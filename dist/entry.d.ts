/** Runs the lokt CLI with `Deno.args` and exits with its code (see `src/cli/entry.ts`). */
export function main(): Promise<never>;
