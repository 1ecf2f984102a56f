/** `lokt version`. */

import { BUILD_INFO } from "../../build_info.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";

/** Runs `lokt version`. */
export function run(args: ParsedArgs, session: Session): number {
  if (args.flags.json) {
    session.json({
      ...BUILD_INFO,
      deno: Deno.version.deno,
      os: Deno.build.os,
      arch: Deno.build.arch,
    });
  } else {
    session.out(
      `lokt ${BUILD_INFO.version} (commit ${BUILD_INFO.commit}, built ${BUILD_INFO.date})\n`,
    );
  }
  return 0;
}
