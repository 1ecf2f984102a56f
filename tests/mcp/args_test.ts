import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { inputSchema, readArgs } from "../../src/mcp/args.ts";
import { InvalidNameError, UsageError } from "../../src/errors.ts";
import type { ArgSpecs } from "../../src/mcp/args.ts";

const SPECS: ArgSpecs = {
  name: { type: "name", required: true, description: "the lock" },
  ttl: { type: "duration", description: "lease" },
  wait: { type: "boolean", description: "wait" },
  slots: { type: "integer", minimum: 1, description: "how many" },
};

Deno.test("the schema lists every argument, the required ones, and refuses others", () => {
  const schema = inputSchema(SPECS);
  assertEquals(schema.type, "object");
  assertEquals(Object.keys(schema.properties as object), ["name", "ttl", "wait", "slots"]);
  assertEquals(schema.required, ["name"]);
  assertEquals(schema.additionalProperties, false);
  assertEquals((schema.properties as Record<string, { minimum?: number }>).slots.minimum, 1);
  assertEquals(inputSchema({}).required, undefined);
});

Deno.test("arguments are read into typed values: durations in milliseconds", () => {
  assertEquals(readArgs(SPECS, { name: "build", ttl: "1m30s", wait: true, slots: 2 }), {
    name: "build",
    ttl: 90_000,
    wait: true,
    slots: 2,
  });
  assertEquals(readArgs(SPECS, { name: "build", ttl: null }), { name: "build" });
});

Deno.test("bad arguments are usage errors that name the argument", () => {
  const table: [unknown, string][] = [
    [undefined, "missing name"],
    [[], "the arguments must be a JSON object"],
    [{ name: 1 }, "name: expected a string, got 1"],
    [{ name: "a", ttl: "5" }, "ttl: "],
    [{ name: "a", wait: 1 }, "wait: expected true or false, got 1"],
    [{ name: "a", slots: 1.5 }, "slots: expected a whole number, got 1.5"],
    [{ name: "a", slots: 0 }, "slots: 0 is below 1"],
    [{ name: "a", other: 1 }, 'unknown argument "other"'],
  ];
  for (const [raw, message] of table) {
    const error = assertThrows(() => readArgs(SPECS, raw), UsageError);
    assertEquals(
      error.message.startsWith(message),
      true,
      `${JSON.stringify(raw)}: ${error.message}`,
    );
  }
  assertThrows(() => readArgs(SPECS, { name: "../etc" }), InvalidNameError);
});
