/**
 * Imports that stay out of the start-up graph. Deno reads every module that a literal
 * `import("./x.ts")` names when the program starts, before any of it runs, as it reads static
 * imports; only a specifier it cannot work out in advance is read when the import runs. Written
 * `import(lazy("./x.ts"))`, the import resolves as the literal would (against the importing
 * module) but costs nothing until that line runs: measured, the command table's literal imports
 * made every command read the modules of all the others, about 5 ms per start. Bundlers and
 * `deno compile` cannot follow these either: the release bundle (scripts/bundle.ts) writes each
 * back as its literal, and the binary is compiled from that bundle.
 *
 * @module
 */

/** Returns `specifier` unchanged, out of sight of Deno's start-up graph. */
export function lazy(specifier: string): string {
  return specifier;
}
