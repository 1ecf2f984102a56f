/** Facts about files, for code that must tell whether a path still names the file it opened. */

/** `Deno.statSync(path)`, or undefined when the path cannot be examined (gone, no access). */
export function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
}

/** True when both describe the same file (inode and device); false when `a` is missing. */
export function sameFile(a: Deno.FileInfo | undefined, b: Deno.FileInfo): boolean {
  return a !== undefined && a.ino === b.ino && a.dev === b.dev;
}
