import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { assertValidName, nameProblem } from "../../src/locks/name.ts";
import { InvalidNameError } from "../../src/errors.ts";

Deno.test("valid names pass: letters, digits, dots, dashes, underscores, up to 128 characters", () => {
  for (
    const name of ["build", "git-push", "db.migrate", "a", "0", "A_b-C.9", "x".repeat(128), "a..b"]
  ) {
    assertEquals(nameProblem(name), undefined, name);
  }
});

Deno.test("invalid names are rejected with a reason", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    [".", /start with a letter or a digit/],
    ["..", /start with a letter or a digit/],
    [".hidden", /start with a letter or a digit/],
    ["-x", /start with a letter or a digit/],
    ["_x", /start with a letter or a digit/],
    ["../x", /contains "\/"/],
    ["a/b", /contains "\/"/],
    ["/abs", /contains "\/"/],
    ["a b", /contains " "/],
    ["a\\b", /contains "\\\\"/],
    ["naïve", /contains "ï"/],
    ["x".repeat(129), /129 characters long; the limit is 128/],
  ];
  for (const [name, reason] of cases) {
    const problem = nameProblem(name);
    if (problem === undefined || !reason.test(problem)) {
      throw new Error(`${JSON.stringify(name)}: expected ${reason}, got ${problem}`);
    }
  }
});

Deno.test("assertValidName throws InvalidNameError carrying the name", () => {
  const error = assertThrows(() => assertValidName("../x"), InvalidNameError);
  assertEquals(error.lockName, "../x");
  assertEquals(error.code, "invalid_name");
});
