/**
 * The lokt command line: `deno run -A jsr:@lokt/cli <command>`, or `deno task lokt` in a checkout.
 *
 * It runs `dist/`, the CLI bundled into a few modules by `deno task build` (Deno's start-up
 * cost grows with the number of modules; the gate fails if the bundle is stale).
 *
 * @module
 */

import { main } from "./dist/entry.js";

if (import.meta.main) await main();
