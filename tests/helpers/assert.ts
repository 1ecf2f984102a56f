/**
 * The few assertions the tests use, as thin wrappers over `node:assert/strict` (jsr:@std/assert
 * is not reachable from every build machine). Equality is Node's strict deep equality: dates
 * compare by time, errors by name and message, `[undefined]` differs from `[]` and a key holding
 * `undefined` differs from a missing key.
 */

import strict, { AssertionError } from "node:assert/strict";

/** Runs `check`; when it fails and the caller gave a message, puts the message before Node's diff. */
function withMessage(message: string | undefined, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (message === undefined || !(error instanceof AssertionError)) throw error;
    throw new AssertionError({
      message: `${message}: ${error.message}`,
      actual: error.actual,
      expected: error.expected,
      operator: error.operator,
    });
  }
}

/** Strict deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  withMessage(message, () => strict.deepStrictEqual(actual, expected));
}

/** Fails when `value` is falsy. */
export function assert(value: unknown, message = "assertion failed"): asserts value {
  strict.ok(value, message);
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  withMessage(message, () => strict.match(text, pattern));
}

/** Fails if `text` matches `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  withMessage(message, () => strict.doesNotMatch(text, pattern));
}

/** Runs `fn`, expects it to throw an instance of `type`, and returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: new (...args: never[]) => E,
): E {
  let thrown: unknown;
  strict.throws(() => {
    try {
      fn();
    } catch (error) {
      thrown = error;
      throw error;
    }
  }, type);
  return thrown as E;
}

/** Awaits `promise`, expects a rejection with an instance of `type`, and returns the error. */
export async function assertRejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  let thrown: unknown;
  await strict.rejects(
    promise.catch((error) => {
      thrown = error;
      throw error;
    }),
    type,
  );
  return thrown as E;
}
