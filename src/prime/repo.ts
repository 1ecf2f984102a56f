/** The repository `prime` describes: found from the working directory, read file by file. */

import { workTreeTop } from "../root.ts";
import type { ReadText } from "./scripts.ts";

/** The top of the work tree holding `cwd` (the nearest directory with a `.git`), else `cwd`. */
export function projectDir(cwd: string): string {
  return workTreeTop(cwd);
}

/** Reads files relative to `dir`; a missing or unreadable file reads as undefined. */
export function fileReader(dir: string): ReadText {
  return (relativePath) => {
    try {
      return Deno.readTextFileSync(`${dir}/${relativePath}`);
    } catch {
      return undefined;
    }
  };
}
