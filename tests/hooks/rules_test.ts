/** Reading the `guard` rules of lokt.jsonc: valid rules, every problem with its place, first match wins. */

import { assertEquals } from "../helpers/assert.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import { firstMatch, problemLine, readRules, type RuleSet } from "../../src/hooks/rules.ts";

function rulesOf(text: string): RuleSet {
  const config = parseProjectConfig("lokt.jsonc", text);
  if (config.kind !== "loaded") throw new Error(`not loaded: ${JSON.stringify(config)}`);
  return readRules(config);
}

function problems(text: string): string[] {
  return rulesOf(text).problems.map((p) => problemLine("lokt.jsonc", p));
}

Deno.test("guard and ask rules are read with their durations; other top-level keys are left alone", () => {
  const { rules, problems } = rulesOf(`{
    "backend": "postgres://lokt@db/lokt", "namespace": "acme/web",
    "guard": [
      { "match": "git push", "name": "push", "ttl": "2m", "timeout": "100s" },
      { "match": "lokt unlock .*--force", "ask": "breaks someone else's lock" },
      { "match": "npm test", "name": "test" },
    ],
  }`);
  assertEquals(problems, []);
  assertEquals(
    rules.map((r) =>
      r.kind === "guard"
        ? [r.index, r.kind, r.name, r.ttlMs, r.timeoutMs, r.position?.line]
        : [r.index, r.kind, r.reason, r.position?.line]
    ),
    [
      [0, "guard", "push", 120_000, 100_000, 4],
      [1, "ask", "breaks someone else's lock", 5],
      [2, "guard", "test", undefined, undefined, 6],
    ],
  );
});

Deno.test("a file without guard rules has none, and no problems", () => {
  assertEquals(rulesOf("{}"), { rules: [], problems: [] });
  assertEquals(rulesOf('{ "backend": "files" }'), { rules: [], problems: [] });
  assertEquals(readRules({ kind: "absent", path: "lokt.jsonc" }), { rules: [], problems: [] });
});

/** Each invalid rule list, and the problems it must produce, with their places. */
const INVALID: [string, string, string[]][] = [
  ["guard is not a list", '{\n  "guard": { "match": "x" }\n}', [
    'lokt.jsonc:2:12: guard: must be a list of rules: [{ "match": "...", "name": "..." }, ...]',
  ]],
  ["a rule that is not an object", '{ "guard": [\n  "git push"\n] }', [
    'lokt.jsonc:2:3: guard[0]: each rule is an object: { "match": "...", "name": "..." }',
  ]],
  ["a bad regex", '{ "guard": [\n  { "match": "git (push", "name": "push" }\n] }', [
    "lokt.jsonc:2:14: guard[0].match: not a valid regex: /git (push/: Unterminated group",
  ]],
  ["a regex that matches everything", '{ "guard": [{ "match": "x*", "name": "a" }] }', [
    "lokt.jsonc:1:24: guard[0].match: matches every command, even an empty one",
  ]],
  [
    "an unknown key",
    '{ "guard": [\n  { "match": "x", "name": "a", "ttl": "1m", "tll": "2m" }\n] }',
    [
      'lokt.jsonc:2:52: guard[0].tll: unknown key (a rule takes "match", "name", "ttl", "timeout")',
    ],
  ],
  [
    "a bad duration",
    '{ "guard": [\n  {\n    "match": "x",\n    "name": "a",\n    "ttl": "2x"\n  }\n] }',
    [
      'lokt.jsonc:5:12: guard[0].ttl: "2x" is not a duration; use a number and a unit (ms, s, m, h, d), e.g. 500ms, 90s, 5m, 1h30m, 1.5h',
    ],
  ],
  [
    "a duration without unit, and a number",
    '{ "guard": [{ "match": "x", "name": "a", "ttl": "90", "timeout": 90 }] }',
    [
      'lokt.jsonc:1:49: guard[0].ttl: "90" has no unit; write 90s, 90m or 90h',
      'lokt.jsonc:1:66: guard[0].timeout: must be a duration in a string, e.g. "90s" or "5m"',
    ],
  ],
  ["a bad lock name", '{ "guard": [{ "match": "x", "name": "../etc" }] }', [
    "lokt.jsonc:1:37: guard[0].name: \"../etc\" is not a lock name: it contains \"/\"; only letters, digits, '.', '_' and '-' are allowed",
  ]],
  ["no match and no name", '{ "guard": [\n  {}\n] }', [
    'lokt.jsonc:2:3: guard[0]: "match" is missing (a regex that finds the commands)',
    'lokt.jsonc:2:3: guard[0]: "name" is missing (the lock matching commands run under), or "ask" for a confirmation',
  ]],
  ["an ask rule with guard keys", '{ "guard": [{ "match": "x", "ask": "sure?", "name": "a" }] }', [
    'lokt.jsonc:1:53: guard[0].name: an "ask" rule takes only "match" and "ask"; a guard rule takes "match", "name", "ttl" and "timeout"',
  ]],
  ["an empty ask reason", '{ "guard": [{ "match": "x", "ask": " " }] }', [
    "lokt.jsonc:1:36: guard[0].ask: must say why the user is asked (a non-empty string)",
  ]],
];

for (const [what, text, expected] of INVALID) {
  Deno.test(`an invalid rule is reported with its place: ${what}`, () => {
    assertEquals(problems(text), expected);
  });
}

Deno.test("valid rules around an invalid one are still read, the invalid one is not", () => {
  const set = rulesOf(
    '{ "guard": [{ "match": "a", "name": "a" }, { "match": "(", "name": "b" }, { "match": "c", "name": "c" }] }',
  );
  assertEquals(set.rules.map((r) => r.index), [0, 2]);
  assertEquals(set.problems.map((p) => p.index), [1]);
});

Deno.test("the first rule that finds a match decides, wherever in the command it matches", () => {
  const { rules } = rulesOf(`{ "guard": [
    { "match": "git push --force", "ask": "rewrites history" },
    { "match": "(^|[;&|]\\\\s*)git push\\\\b", "name": "push" },
    { "match": "git", "name": "git" },
  ] }`);
  const decided = (command: string) => {
    const rule = firstMatch(rules, command);
    return rule === undefined ? "none" : rule.kind === "ask" ? "ask" : rule.name;
  };
  assertEquals(
    [
      "git push origin main",
      "cd sub && git push",
      "git push --force",
      "git pushy",
      "git status",
      "ls",
    ].map(decided),
    ["push", "push", "ask", "git", "git", "none"],
  );
});
