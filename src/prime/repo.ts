/** The repository `prime` describes: found from the working directory, read file by file. */

import { dirname, resolve } from "../paths.ts";
import type { ReadText } from "./scripts.ts";

/** The top of the work tree holding `cwd` (the nearest directory with a `.git`), else `cwd`. */
export function projectDir(cwd: string): string {
  const start = resolve("/", cwd);
  for (let dir = start;; dir = dirname(dir)) {
    try {
      Deno.statSync(`${dir}/.git`);
      return dir;
    } catch {
      // not here: look further up
    }
    if (dir === "/" || dir === dirname(dir)) return start;
  }
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
