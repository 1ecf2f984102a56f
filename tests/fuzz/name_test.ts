/**
 * Fuzz: the lock-name validator accepts exactly the documented names (`[A-Za-z0-9._-]`, 1 to 128
 * characters, first a letter or digit), checked against an oracle written without regexes, and
 * every accepted name maps to a file directly inside the lock directory.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { assertValidName, NAME_MAX_LENGTH, nameProblem } from "../../src/locks/name.ts";
import { layoutOf, lockPath } from "../../src/locks/layout.ts";
import { InvalidNameError } from "../../src/errors.ts";
import { fuzz, NASTY_CHARS, type Rng } from "./prng.ts";

const FILE = "tests/fuzz/name_test.ts";

/** The documented rule, one UTF-16 code unit at a time. */
function oracle(name: string): boolean {
  if (name.length < 1 || name.length > 128) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    const punct = c === 46 || c === 95 || c === 45; // . _ -
    if (!(alnum || (i > 0 && punct))) return false;
  }
  return true;
}

const GOOD = "abcxyzABCXYZ0189";
const PUNCT = "._-";

function candidate(rng: Rng): string {
  const length = rng.pick([0, 1, 2, 3, 8, 64, 127, 128, 129, 200, rng.int(140)]);
  // Half the cases are nearly valid, so that the length limits are reached by valid names too.
  const nasty = rng.chance(0.5) ? 0.1 : 0.002;
  let name = "";
  for (let i = 0; i < length; i++) {
    const r = rng.float();
    name += r < nasty
      ? rng.pick(NASTY_CHARS)
      : r < 0.8
      ? rng.pick([...GOOD])
      : rng.pick([...PUNCT]);
  }
  if (rng.chance(0.1)) {
    name = rng.pick(["..", ".", "-", "../", "./", "a/../b", "/etc/passwd"]) + name;
  }
  return name;
}

Deno.test("fuzz: a name is accepted exactly when the documented rule accepts it", async () => {
  const seen = { accepted: 0, refused: 0, longest: 0 };
  const report = await fuzz("name/oracle", candidate, (name) => {
    const problem = nameProblem(name);
    assertEquals(problem === undefined, oracle(name), `verdict on ${JSON.stringify(name)}`);
    if (problem === undefined) {
      seen.accepted++;
      seen.longest = Math.max(seen.longest, name.length);
    } else seen.refused++;
    if (problem !== undefined) {
      assert(problem.length > 0 && !problem.includes("undefined"), `odd problem: ${problem}`);
      let thrown: unknown;
      try {
        assertValidName(name);
      } catch (error) {
        thrown = error;
      }
      assert(thrown instanceof InvalidNameError, `assertValidName let ${name} through`);
      assertEquals(thrown.code, "invalid_name");
      assertEquals(thrown.lockName, name);
    } else {
      assertValidName(name);
    }
  }, { file: FILE });
  // The generator must reach both verdicts, and the length limit, for the oracle to mean much.
  if (report.cases >= 100) assert(seen.accepted > 0 && seen.refused > 0, JSON.stringify(seen));
  if (seen.accepted > 200) assertEquals(seen.longest, NAME_MAX_LENGTH);
});

Deno.test("fuzz: every accepted name is one file directly inside locks/", async () => {
  const layout = layoutOf("/root-of-locks");
  let accepted = 0;
  const report = await fuzz("name/path", candidate, (name) => {
    if (nameProblem(name) !== undefined) return;
    accepted++;
    const path = lockPath(layout, name);
    const file = path.slice(layout.locks.length + 1);
    assertEquals(path.slice(0, layout.locks.length + 1), `${layout.locks}/`);
    assert(!file.includes("/") && file !== ".json" && !file.startsWith("."), path);
    assert(name.length <= NAME_MAX_LENGTH);
  }, { file: FILE });
  // Refused names are skipped above: the check means something only if some names got through.
  if (report.cases >= 100) assert(accepted > 0, "the generator never produced a valid name");
});
