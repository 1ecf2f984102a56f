/** Minimal POSIX-style path helpers (no `node:path` on the start-up path). */

/** Collapses `.`, `..` and repeated slashes of an absolute path. */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.replaceAll("\\", "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  const drive = /^[A-Za-z]:$/.test(out[0] ?? "") ? "" : "/";
  return drive + out.join("/");
}

/** Resolves `path` against the directory `base` (returned as is when already absolute). */
export function resolve(base: string, path: string): string {
  const absolute = path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
  return normalize(absolute ? path : `${base}/${path}`);
}

/** The parent directory of an absolute path (`/` for `/`). */
export function dirname(path: string): string {
  const normal = normalize(path);
  const cut = normal.lastIndexOf("/");
  return cut <= 0 ? "/" : normal.slice(0, cut);
}
