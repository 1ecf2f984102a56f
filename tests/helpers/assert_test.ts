import { AssertionError } from "node:assert/strict";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertRejects,
  assertThrows,
} from "./assert.ts";

/** Passes only when `check` fails with an assertion error; returns that error's message. */
function failureOf(check: () => void): string {
  try {
    check();
  } catch (error) {
    if (error instanceof AssertionError) return error.message;
    throw error;
  }
  throw new Error("the assertion passed where it should have failed");
}

Deno.test("assertEquals tells apart values a hand-written equality used to confuse", async (t) => {
  const pairs: [string, unknown, unknown][] = [
    ["dates one millisecond apart", new Date(0), new Date(1)],
    ["errors with different messages", new Error("a"), new Error("b")],
    ["errors of different classes", new TypeError("a"), new Error("a")],
    ["an array holding undefined and an empty array", [undefined], []],
    ["a key holding undefined and a missing key", { a: undefined }, {}],
    ["maps with different values", new Map([[1, 2]]), new Map([[1, 3]])],
    ["sets with different members", new Set([1]), new Set([2])],
    ["a number and its string", 1, "1"],
    ["byte arrays with different bytes", new Uint8Array([1]), new Uint8Array([2])],
  ];
  for (const [what, a, b] of pairs) {
    await t.step(what, () => {
      failureOf(() => assertEquals(a, b));
    });
  }
});

Deno.test("assertEquals accepts structurally equal values", () => {
  assertEquals(new Date(5), new Date(5));
  assertEquals({ a: [1, { b: "c" }], d: new Map([["e", 1]]) }, {
    a: [1, { b: "c" }],
    d: new Map([["e", 1]]),
  });
  assertEquals([undefined], [undefined]);
});

Deno.test("assertEquals puts the caller's message before the difference", () => {
  const message = failureOf(() => assertEquals({ n: 1 }, { n: 2 }, "the count"));
  assertMatch(message, /^the count: /);
  assertMatch(message, /n: 1/);
  assertMatch(message, /n: 2/);
});

Deno.test("assert, assertMatch and assertNotMatch fail when they should", () => {
  assertEquals(failureOf(() => assert(0, "zero is falsy")), "zero is falsy");
  failureOf(() => assertMatch("abc", /^b/));
  failureOf(() => assertNotMatch("abc", /b/));
  assertMatch(failureOf(() => assertMatch("abc", /x/, "the text")), /^the text: /);
});

Deno.test("assertThrows returns the error and fails on the wrong class or no throw", () => {
  const error = assertThrows(() => {
    throw new RangeError("out");
  }, RangeError);
  assertEquals(error.message, "out");
  assert(error instanceof RangeError);
  failureOf(() =>
    assertThrows(() => {
      throw new TypeError("wrong");
    }, RangeError)
  );
  failureOf(() => assertThrows(() => 1, RangeError));
});

Deno.test("assertRejects returns the error and fails on the wrong class or no rejection", async () => {
  const error = await assertRejects(Promise.reject(new RangeError("out")), RangeError);
  assertEquals(error.message, "out");
  const wrongClass = await assertRejects(
    assertRejects(Promise.reject(new TypeError("wrong")), RangeError),
    AssertionError,
  );
  assert(wrongClass instanceof AssertionError);
  await assertRejects(assertRejects(Promise.resolve(1), RangeError), AssertionError);
});
