/** The JSONC reader: JSON plus comments and trailing commas, with line:column for every problem. */

import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { JsoncSyntaxError, parseJsonc } from "../../src/config/jsonc.ts";
import { parseProjectConfig, unknownKeys } from "../../src/config/project.ts";

Deno.test("plain JSON reads exactly as JSON.parse reads it", () => {
  const samples = [
    '{"a":1,"b":[true,false,null],"c":{"d":"e\\n\\u00e9\\"\\\\"},"f":-1.5e3}',
    "[]",
    '"just a string"',
    "0",
    ' { "nested" : [ [ ], { } ] } ',
  ];
  for (const text of samples) assertEquals(parseJsonc(text).value, JSON.parse(text), text);
});

Deno.test("comments and trailing commas are allowed; comment markers inside strings are text", () => {
  const text = [
    "// leading comment",
    "{",
    '  "url": "http://example.com/*not a comment*/", // trailing',
    "  /* block",
    "     comment */",
    '  "list": [1, 2, 3,],',
    "}",
  ].join("\n");
  assertEquals(parseJsonc(text).value, {
    url: "http://example.com/*not a comment*/",
    list: [1, 2, 3],
  });
});

Deno.test("objects and arrays remember where they and their members start", () => {
  const text = '{\n  "guard": [\n    { "match": "x",\n      "name": "y" }\n  ]\n}\n';
  const doc = parseJsonc(text);
  const root = doc.value as { guard: Record<string, unknown>[] };
  assertEquals(doc.positionOf(root)?.line, 1);
  assertEquals([doc.positionOf(root, "guard")?.line, doc.positionOf(root, "guard")?.column], [
    2,
    12,
  ]);
  assertEquals([doc.positionOf(root.guard, 0)?.line, doc.positionOf(root.guard, 0)?.column], [
    3,
    5,
  ]);
  assertEquals([
    doc.positionOf(root.guard[0], "name")?.line,
    doc.positionOf(root.guard[0], "name")?.column,
  ], [4, 15]);
  assertEquals(doc.positionOf(root.guard[0], "missing"), undefined);
});

/** Each malformed text, and the line:column and words its error must have. */
const BROKEN: [string, string, RegExp][] = [
  ['{\n  "a": 1\n  "b": 2\n}', "3:3", /expected ',' or '}'/],
  ['{\n  "a": 1,\n  "a": 2\n}', "3:3", /duplicate member "a"/],
  ["{\n  'a': 1\n}", "2:3", /member name in double quotes/],
  ["{ \"a\": 'x' }", "1:8", /double quotes, not single/],
  ['{ "a": "never closed\n}', "1:8", /never closed/],
  ['{ "a": 1 } /* open', "1:12", /never closed/],
  ['{ "a": tru }', "1:8", /expected a value/],
  ['{ "a": 1 } x', "1:12", /after the value/],
  ["", "1:1", /end of the file/],
  ["[1, 2\n", "2:1", /expected ',' or ']'/],
  ['{ "a": "\\q" }', "1:9", /unknown escape/],
];

for (const [text, where, words] of BROKEN) {
  Deno.test(`a syntax error is reported at ${where}: ${JSON.stringify(text).slice(0, 30)}`, () => {
    const error = assertThrows(() => parseJsonc(text), JsoncSyntaxError);
    assertEquals(`${error.position.line}:${error.position.column}`, where);
    assert(error.message.startsWith(`${where}: `), error.message);
    assert(words.test(error.message), error.message);
  });
}

Deno.test("lokt.jsonc must hold an object; its unknown keys are listed, backend and namespace are known", () => {
  const ok = parseProjectConfig(
    "lokt.jsonc",
    '{ "backend": "postgres://db/x", "namespace": "a/b", "guard": [], "extra": 1 }',
  );
  assertEquals(ok.kind, "loaded");
  if (ok.kind === "loaded") assertEquals(unknownKeys(ok.data), ["extra"]);
  const list = parseProjectConfig("lokt.jsonc", "[]");
  assertEquals(list.kind, "invalid");
  if (list.kind === "invalid") {
    assertEquals(list.error.message, "lokt.jsonc:1:1: the top level must be an object: { ... }");
  }
  const broken = parseProjectConfig("/r/lokt.jsonc", '{\n  "guard": [,]\n}');
  assertEquals(broken.kind, "invalid");
  if (broken.kind === "invalid") {
    assertEquals(broken.error.message, '/r/lokt.jsonc:2:13: expected a value, found ","');
    assertEquals(broken.error.code, "invalid_config");
  }
});
