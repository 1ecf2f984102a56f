import { InvalidNameError } from "../errors.ts";

/** Longest accepted lock name, in characters. */
export const NAME_MAX_LENGTH = 128;

const ALLOWED = /^[A-Za-z0-9._-]*$/;
const FIRST = /^[A-Za-z0-9]/;

/**
 * Says what is wrong with a lock name, or returns undefined when it is valid.
 *
 * A name maps straight to a file name (`locks/<name>.json`), so the rules keep it inside the lock
 * directory: no separators, no leading dot (`.`, `..`, hidden files), no leading dash (it would
 * read as a flag).
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "a lock name cannot be empty";
  if (name.length > NAME_MAX_LENGTH) {
    return `it is ${name.length} characters long; the limit is ${NAME_MAX_LENGTH}`;
  }
  if (!ALLOWED.test(name)) {
    const bad = [...name].find((ch) => !ALLOWED.test(ch)) ?? "";
    return `it contains ${JSON.stringify(bad)}; only letters, digits, '.', '_' and '-' are allowed`;
  }
  if (!FIRST.test(name)) return "it must start with a letter or a digit";
  return undefined;
}

/** Throws {@link InvalidNameError} unless `name` is a valid lock name. */
export function assertValidName(name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new InvalidNameError(name, problem);
}
