/**
 * A tool's arguments, declared once: the JSON Schema a client sees and the checks a call goes
 * through come from the same table, so a new argument is one more entry. Pure.
 */

import { parseDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import { assertValidName } from "../locks/name.ts";

/** How one argument is read. */
export type ArgType = "name" | "duration" | "boolean" | "text" | "integer";

/** One argument of a tool. */
export interface ArgSpec {
  type: ArgType;
  /** What the argument means, for the model reading the schema. */
  description: string;
  required?: boolean;
  /** Integers only: the smallest accepted value. */
  minimum?: number;
}

/** A tool's arguments by name. */
export type ArgSpecs = Readonly<Record<string, ArgSpec>>;

/** Checked argument values: names and text as strings, durations in ms, integers, booleans. */
export type ArgValues = Record<string, string | number | boolean | undefined>;

const DURATION_PATTERN = "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)([0-9]+(\\.[0-9]+)?(ms|s|m|h))*$";

/** The JSON Schema of an input object with these arguments. */
export function inputSchema(specs: ArgSpecs): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    properties[key] = propertySchema(spec);
  }
  const required = Object.entries(specs).filter(([, s]) => s.required).map(([k]) => k);
  return {
    type: "object",
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

function propertySchema(spec: ArgSpec): Record<string, unknown> {
  const description = spec.description;
  switch (spec.type) {
    case "name":
      return {
        type: "string",
        description,
        pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
        minLength: 1,
        maxLength: 128,
      };
    case "duration":
      return { type: "string", description, pattern: DURATION_PATTERN, examples: ["90s", "5m"] };
    case "boolean":
      return { type: "boolean", description };
    case "text":
      return { type: "string", description, minLength: 1 };
    case "integer":
      return { type: "integer", description, ...(spec.minimum ? { minimum: spec.minimum } : {}) };
  }
}

/**
 * Checks a call's arguments against `specs`; throws a {@link UsageError} (or the engine's
 * `InvalidNameError`) saying what is wrong, in the words the CLI uses for the same mistake.
 */
export function readArgs(specs: ArgSpecs, raw: unknown): ArgValues {
  if (raw !== undefined && (typeof raw !== "object" || raw === null || Array.isArray(raw))) {
    throw new UsageError("the arguments must be a JSON object");
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  const known = Object.keys(specs);
  const unknown = Object.keys(given).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown argument ${unknown.map((k) => `"${k}"`).join(", ")}`,
      known.length > 0 ? `this tool takes ${known.join(", ")}` : "this tool takes no arguments",
    );
  }
  const values: ArgValues = {};
  for (const [key, spec] of Object.entries(specs)) {
    const value = given[key];
    if (value === undefined || value === null) {
      if (spec.required) throw new UsageError(`missing ${key}`, `${key}: ${spec.description}`);
      continue;
    }
    values[key] = readOne(key, spec, value);
  }
  return values;
}

function readOne(key: string, spec: ArgSpec, value: unknown): string | number | boolean {
  const kind = spec.type === "integer"
    ? "a whole number"
    : spec.type === "boolean"
    ? "true or false"
    : "a string";
  const wrong = () => new UsageError(`${key}: expected ${kind}, got ${JSON.stringify(value)}`);
  switch (spec.type) {
    case "name":
      if (typeof value !== "string") throw wrong();
      assertValidName(value);
      return value;
    case "duration": {
      if (typeof value !== "string") throw wrong();
      const parsed = parseDuration(value);
      if ("problem" in parsed) {
        throw new UsageError(
          `${key}: ${parsed.problem}`,
          "durations look like 500ms, 90s, 5m, 1h30m",
        );
      }
      return parsed.ms;
    }
    case "boolean":
      if (typeof value !== "boolean") throw wrong();
      return value;
    case "text":
      if (typeof value !== "string") throw wrong();
      if (value.trim() === "") throw new UsageError(`${key} cannot be empty`);
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) throw wrong();
      if (spec.minimum !== undefined && value < spec.minimum) {
        throw new UsageError(`${key}: ${value} is below ${spec.minimum}`);
      }
      return value;
  }
}
