/**
 * Build facts shown by `lokt version`. The release workflow rewrites this file before compiling
 * (`scripts/stamp_version.ts`); a checkout reports the version from `deno.json` and "dev".
 */

/** What `lokt version` prints. */
export const BUILD_INFO = {
  version: "0.1.0",
  commit: "dev",
  date: "unknown",
} as const;
