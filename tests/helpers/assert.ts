/**
 * The few assertions the tests use (jsr:@std/assert is not reachable from every build machine).
 */

function show(value: unknown): string {
  try {
    return Deno.inspect(value, { depth: 6, colors: false, sorted: true });
  } catch {
    return String(value);
  }
}

function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map && b instanceof Map) return equal([...a], [...b]);
  if (a instanceof Set && b instanceof Set) return equal([...a], [...b]);
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

/** Deep equality (undefined-valued keys count as absent). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!equal(actual, expected)) {
    throw new Error(
      `${message ? message + ": " : ""}values differ\nactual:   ${show(actual)}\nexpected: ${
        show(expected)
      }`,
    );
  }
}

/** Fails when `value` is falsy. */
export function assert(value: unknown, message = "assertion failed"): asserts value {
  if (!value) throw new Error(message);
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new Error(`${message ? message + ": " : ""}${show(text)} does not match ${pattern}`);
  }
}

/** Fails if `text` matches `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  if (pattern.test(text)) {
    throw new Error(`${message ? message + ": " : ""}${show(text)} matches ${pattern}`);
  }
}

/** Runs `fn`, expects it to throw an instance of `type`, and returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: new (...args: never[]) => E,
): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw new Error(`expected ${type.name}, got ${show(error)}`);
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

/** Awaits `promise`, expects a rejection with an instance of `type`, and returns the error. */
export async function assertRejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof type) return error;
    throw new Error(`expected ${type.name}, got ${show(error)}`);
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}
