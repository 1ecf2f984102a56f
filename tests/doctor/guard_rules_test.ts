/** Doctor's guard_rules check: the file, its rules with their places, and whether a hook runs them. */

import { assertEquals } from "../helpers/assert.ts";
import { parseProjectConfig } from "../../src/config/project.ts";
import { guardRulesCheck } from "../../src/doctor/guard_rules.ts";

const NO_HOOKS = { "claude-code": false, codex: false };
const RULE = '{ "guard": [{ "match": "git push", "name": "push" }] }';

function judge(
  text: string | undefined,
  hooks: Record<"claude-code" | "codex", boolean | undefined> = NO_HOOKS,
) {
  const config = text === undefined
    ? { kind: "absent" as const, path: "/r/lokt.jsonc" }
    : parseProjectConfig("/r/lokt.jsonc", text);
  const c = guardRulesCheck(config, hooks);
  return [c.status, c.message];
}

Deno.test("guard_rules: every state of lokt.jsonc, from none to rules a hook runs", () => {
  assertEquals(judge(undefined), ["ok", "no /r/lokt.jsonc: no command is guarded automatically"]);
  assertEquals(judge("{ nope"), [
    "fail",
    "/r/lokt.jsonc:1:3: expected a member name in double quotes or '}', found \"n\"",
  ]);
  assertEquals(judge('{ "guard": [\n  { "match": "(", "name": "x" }\n] }'), [
    "fail",
    "1 invalid rule problem(s): /r/lokt.jsonc:2:14: guard[0].match: not a valid regex: /(/: Unterminated group",
  ]);
  assertEquals(judge('{ "backend": "files", "gaurd": [] }'), [
    "warn",
    "lokt.jsonc has keys lokt does not read: gaurd",
  ]);
  assertEquals(judge('{ "backend": "files", "namespace": "a/b" }'), [
    "ok",
    "lokt.jsonc has no guard rules",
  ]);
  assertEquals(judge(RULE), ["warn", "1 guard rule(s), but no harness runs lokt's hook"]);
  assertEquals(judge(RULE, { "claude-code": true, codex: undefined }), [
    "ok",
    "1 guard rule(s), run by the hook of claude-code",
  ]);
});
