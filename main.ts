/**
 * The lokt command line: `deno run -A jsr:@lokt/cli <command>`, or `deno task lokt` in a checkout.
 *
 * @module
 */

import { main } from "./src/cli/entry.ts";

if (import.meta.main) await main();
