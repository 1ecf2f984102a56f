/** What `prime` prints for given facts, in every format. */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import type { PrimeFacts } from "../../src/prime/facts.ts";
import { PRIME_FORMATS, renderPrime, shellWord, suggestion } from "../../src/prime/generate.ts";
import { makeTargets, packageScripts } from "../../src/prime/scripts.ts";

const scripts = [
  ...packageScripts('{"scripts":{"build":"tsc","test":"vitest run","db:migrate":"knex"}}'),
  ...makeTargets("deploy:\n\t./deploy.sh\n"),
];

const busy: PrimeFacts = {
  scripts,
  locks: [
    {
      name: "build",
      kind: "guard",
      holder: "alice@vm",
      agentId: "claude-code:abc",
      command: ["npm", "run", "build"],
      ageMs: 62_000,
      state: "live",
    },
    {
      name: "old",
      kind: "lock",
      holder: "bob@vm",
      agentId: "",
      command: [],
      ageMs: 5_000,
      state: "stale",
    },
  ],
  freezes: [{ name: "deploy", holder: "carol@vm", remainingMs: 3_600_000, reason: "incident 42" }],
  unreadable: ["broken"],
};

const idle: PrimeFacts = { scripts: [], locks: [], freezes: [], unreadable: [] };

function shBlocks(text: string): string[] {
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) =>
    m[1].split("\n").filter((l) => l.trim() !== "")
  );
}

Deno.test("each script is suggested as a waiting guard with its lock name and TTL", () => {
  assertEquals(scripts.map(suggestion), [
    "lokt guard build --ttl 10m --wait -- npm run build",
    "lokt guard test --ttl 10m --wait -- npm run test",
    "lokt guard db-migrate --ttl 10m --wait -- npm run db:migrate",
    "lokt guard deploy --ttl 30m --wait -- make deploy",
  ]);
});

Deno.test("a script that guards itself is suggested as it is", () => {
  const [script] = packageScripts('{"scripts":{"build":"lokt guard build -- tsc"}}');
  assertEquals(suggestion(script), "npm run build");
});

Deno.test("words with shell characters are quoted", () => {
  assertEquals(shellWord("db:migrate"), "db:migrate");
  assertEquals(shellWord("it's here"), `'it'\\''s here'`);
  assertEquals(shellWord("a$b"), "'a$b'");
});

for (const format of PRIME_FORMATS) {
  Deno.test(`${format}: every script's guard line and the rules are in sh blocks or prose`, () => {
    const text = renderPrime(busy, format);
    const commands = shBlocks(text);
    for (const script of scripts) assert(commands.includes(suggestion(script)), script.script);
    for (const line of ["lokt status", "lokt why build", "lokt unlock --all"]) {
      assert(commands.includes(line), `${format} lacks ${line}`);
    }
    assert(commands.every((line) => line.startsWith("lokt ")), commands.join("\n"));
    assertMatch(text, /--wait/);
    assertMatch(text, /--force/);
    assertMatch(text, /lokt unlock --all/);
  });

  Deno.test(`${format}: the current locks and freezes are named`, () => {
    const text = renderPrime(busy, format);
    assertMatch(
      text,
      /`build`: held by alice@vm \(agent claude-code:abc\), running `npm run build`/,
    );
    assertMatch(text, /`old`: held by bob@vm, for 5s; stale/);
    assertMatch(text, /`deploy`: frozen by carol@vm for 1h0m0s more: "incident 42"/);
    assertMatch(text, /`broken`: unreadable/);
  });

  Deno.test(`${format}: with no scripts and no locks it says so and suggests no command to run`, () => {
    const text = renderPrime(idle, format);
    assertMatch(text, /No locks or freezes were held/);
    assertNotMatch(text, /lokt guard \S+ --ttl \S+ --wait -- npm/);
    assert(shBlocks(text).every((line) => !line.startsWith("lokt guard")));
  });
}

Deno.test("windsurfrules stays compact", () => {
  assert(renderPrime(busy, "windsurfrules").length < 2000);
});

Deno.test("aider's config runs the tests under the test lock", () => {
  const text = renderPrime(busy, "aider");
  assertMatch(text, /^test-cmd: lokt guard test --ttl 10m --wait -- npm run test$/m);
  assertMatch(text, /^read: CONVENTIONS.md$/m);
});

Deno.test("clinerules and copilot are whole files, claude-md is a section", () => {
  assertMatch(renderPrime(idle, "claude-md"), /^## /);
  assertMatch(renderPrime(idle, "copilot"), /^# /);
  assertMatch(renderPrime(idle, "clinerules"), /^# /);
});

Deno.test("prime mentions lokt.jsonc's guard rules and the hook only when there are rules", () => {
  const withRules: PrimeFacts = {
    ...busy,
    guarded: [
      { pattern: "git push\\b", lockName: "push" },
      { pattern: "unlock .*--force", ask: "breaks a lock" },
    ],
  };
  for (const format of PRIME_FORMATS) {
    const text = renderPrime(withRules, format);
    assertMatch(text, /lokt hook install claude-code/, format);
    assertMatch(text, /commands matching `\/git push\\b\/` run under the lock `push`/, format);
    assertMatch(
      text,
      /`\/unlock \.\*--force\/` need the user's confirmation: breaks a lock/,
      format,
    );
    assertNotMatch(renderPrime(busy, format), /lokt hook|lokt\.jsonc/, format);
    assertNotMatch(renderPrime({ ...busy, guarded: [] }, format), /lokt hook|lokt\.jsonc/, format);
  }
});
