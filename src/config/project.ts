/**
 * The repository's `lokt.jsonc`: read once, parsed as JSONC, its top level an object. This module
 * only reads the file; each section (`guard` here, and the backend's keys) is validated by its own
 * owner, and keys a section does not know are left to the others, so a file naming a backend is
 * never an error for the guard rules.
 */

import { ConfigError } from "../errors.ts";
import { type JsoncDocument, JsoncSyntaxError, parseJsonc } from "./jsonc.ts";

/** Top-level keys lokt knows; others are reported by `doctor` as a warning, never refused. */
export const KNOWN_KEYS = ["$schema", "guard", "backend", "namespace"] as const;

/** The file, as far as it could be read. */
export type ProjectConfig =
  | { kind: "absent"; path: string }
  | { kind: "loaded"; path: string; data: Record<string, unknown>; document: JsoncDocument }
  | { kind: "invalid"; path: string; error: ConfigError };

/** Reads a text file: its content, undefined when it does not exist; other failures throw. */
export type ReadConfigText = (path: string) => string | undefined;

/** Reads with Deno: a missing file is undefined. */
export function readTextIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Parses the text of `lokt.jsonc`; `path` names it in errors. Pure. */
export function parseProjectConfig(path: string, text: string): ProjectConfig {
  let document: JsoncDocument;
  try {
    document = parseJsonc(text);
  } catch (error) {
    if (!(error instanceof JsoncSyntaxError)) throw error;
    const problem = error.message.replace(/^\d+:\d+: /, "");
    return { kind: "invalid", path, error: new ConfigError(path, problem, error.position) };
  }
  const value = document.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      kind: "invalid",
      path,
      error: new ConfigError(path, "the top level must be an object: { ... }", {
        line: 1,
        column: 1,
      }),
    };
  }
  return { kind: "loaded", path, data: value as Record<string, unknown>, document };
}

/** Reads and parses `lokt.jsonc` at `path`; an unreadable file is `invalid`, never a throw. */
export function loadProjectConfig(
  path: string,
  read: ReadConfigText = readTextIfExists,
): ProjectConfig {
  let text: string | undefined;
  try {
    text = read(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { kind: "invalid", path, error: new ConfigError(path, `cannot be read: ${why}`) };
  }
  return text === undefined ? { kind: "absent", path } : parseProjectConfig(path, text);
}

/** Top-level keys of a loaded file that no part of lokt reads. */
export function unknownKeys(data: Record<string, unknown>): string[] {
  return Object.keys(data).filter((k) => !(KNOWN_KEYS as readonly string[]).includes(k));
}
