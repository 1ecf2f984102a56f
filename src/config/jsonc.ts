/**
 * A small JSONC reader: JSON plus `//` and `/* *\/` comments and trailing commas. Every object and
 * array it returns remembers where it started and where each of its members' values starts, so
 * that a problem found later (a bad rule) can be reported as `line:column`. Pure.
 */

/** A place in the text: 1-based line and column (in UTF-16 units), 0-based offset. */
export interface Position {
  line: number;
  column: number;
  offset: number;
}

/** A syntax error, with where it was found. */
export class JsoncSyntaxError extends Error {
  readonly position: Position;

  constructor(message: string, position: Position) {
    super(`${position.line}:${position.column}: ${message}`);
    this.name = "JsoncSyntaxError";
    this.position = position;
  }
}

interface Spans {
  start: Position;
  members: Map<string | number, Position>;
}

/** A parsed document: the value, and where each part of it came from. */
export interface JsoncDocument {
  value: unknown;
  /** Where an object or array starts, or (with `key`) where the value of its member starts. */
  positionOf(container: object, key?: string | number): Position | undefined;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Reader {
  readonly text: string;
  at = 0;
  readonly spans = new WeakMap<object, Spans>();
  /** Offsets where lines start, for turning offsets into line:column. */
  readonly #lineStarts: number[] = [0];

  constructor(text: string) {
    this.text = text;
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") this.#lineStarts.push(i + 1);
  }

  position(offset = this.at): Position {
    let low = 0;
    let high = this.#lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.#lineStarts[low] + 1, offset };
  }

  fail(message: string, offset = this.at): never {
    throw new JsoncSyntaxError(message, this.position(offset));
  }

  /** What stands at the reading point, for messages. */
  found(): string {
    if (this.at >= this.text.length) return "the end of the file";
    const c = this.text[this.at];
    return c === "\n" ? "a line break" : JSON.stringify(c);
  }

  /** Skips white space and comments. */
  skip(): void {
    const text = this.text;
    while (this.at < text.length) {
      const c = text[this.at];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\uFEFF") {
        this.at++;
      } else if (c === "/" && text[this.at + 1] === "/") {
        const end = text.indexOf("\n", this.at);
        this.at = end < 0 ? text.length : end;
      } else if (c === "/" && text[this.at + 1] === "*") {
        const end = text.indexOf("*/", this.at + 2);
        if (end < 0) this.fail("a /* comment is never closed");
        this.at = end + 2;
      } else {
        return;
      }
    }
  }

  value(): unknown {
    this.skip();
    const c = this.text[this.at];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    if (this.at >= this.text.length) this.fail("expected a value, found the end of the file");
    if (c === "'") this.fail("strings take double quotes, not single quotes");
    return this.fail(`expected a value, found ${this.found()}`);
  }

  object(): Record<string, unknown> {
    const start = this.position();
    this.at++;
    const result: Record<string, unknown> = {};
    const members = new Map<string | number, Position>();
    this.spans.set(result, { start, members });
    for (;;) {
      this.skip();
      if (this.text[this.at] === "}") {
        this.at++;
        return result;
      }
      if (this.text[this.at] !== '"') {
        this.fail(`expected a member name in double quotes or '}', found ${this.found()}`);
      }
      const keyAt = this.at;
      const key = this.string();
      if (Object.hasOwn(result, key)) this.fail(`duplicate member ${JSON.stringify(key)}`, keyAt);
      this.skip();
      if (this.text[this.at] !== ":") {
        this.fail(`expected ':' after ${JSON.stringify(key)}, found ${this.found()}`);
      }
      this.at++;
      this.skip();
      members.set(key, this.position());
      // defineProperty: a member named "__proto__" is data, not the prototype.
      Object.defineProperty(result, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skip();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== "}") {
        this.fail(`expected ',' or '}' after a member, found ${this.found()}`);
      }
    }
  }

  array(): unknown[] {
    const start = this.position();
    this.at++;
    const result: unknown[] = [];
    const members = new Map<string | number, Position>();
    this.spans.set(result, { start, members });
    for (;;) {
      this.skip();
      if (this.text[this.at] === "]") {
        this.at++;
        return result;
      }
      members.set(result.length, this.position());
      result.push(this.value());
      this.skip();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== "]") {
        this.fail(`expected ',' or ']' after an element, found ${this.found()}`);
      }
    }
  }

  string(): string {
    const open = this.at;
    this.at++;
    let out = "";
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined || c === "\n") this.fail("a string is never closed", open);
      if (c === '"') {
        this.at++;
        return out;
      }
      if (c < " ") this.fail("a control character inside a string must be escaped");
      if (c !== "\\") {
        out += c;
        this.at++;
        continue;
      }
      const e = this.text[this.at + 1];
      if (e === "u") {
        const hex = this.text.slice(this.at + 2, this.at + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail("\\u takes four hexadecimal digits");
        out += String.fromCharCode(parseInt(hex, 16));
        this.at += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.at += 2;
      } else {
        this.fail(`unknown escape \\${e ?? ""} in a string`);
      }
    }
  }

  number(): number {
    const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.at;
    const found = m.exec(this.text);
    if (found === null) this.fail(`expected a number, found ${this.found()}`);
    this.at = m.lastIndex;
    return Number(found[0]);
  }
}

/** Parses JSONC text; throws {@link JsoncSyntaxError} with the line and column of a problem. */
export function parseJsonc(text: string): JsoncDocument {
  const reader = new Reader(text);
  const value = reader.value();
  reader.skip();
  if (reader.at < text.length) reader.fail(`unexpected ${reader.found()} after the value`);
  return {
    value,
    positionOf(container, key) {
      const spans = reader.spans.get(container);
      if (spans === undefined) return undefined;
      return key === undefined ? spans.start : spans.members.get(key);
    },
  };
}
