/**
 * The exit-code contract: `docs/exit-codes.md` and `src/cli/exit.ts` say the same thing, and every
 * error class maps to the exit code the table promises.
 */

import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { holderEnv, loktInProcess, REPO, tempDir } from "../helpers/cli.ts";
import { EXIT, EXIT_BY_CODE, exitCodeFor, exitCodeForSignal } from "../../src/cli/exit.ts";
import { hintFor } from "../../src/cli/hints.ts";
import * as coreErrors from "../../src/errors.ts";
import * as lockErrors from "../../src/locks/errors.ts";
import type { LockRecord } from "../../src/locks/lockfile.ts";
import type { Verdict } from "../../src/locks/stale.ts";

const DOC = Deno.readTextFileSync(`${REPO}/docs/exit-codes.md`);

/** The rows of the first table after the heading `## <heading>`, as trimmed cells. */
function tableAfter(heading: string): string[][] {
  const lines = DOC.split("\n");
  const start = lines.indexOf(`## ${heading}`);
  assert(start >= 0, `docs/exit-codes.md has no "## ${heading}" section`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|")) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(line.slice(1, line.lastIndexOf("|")).split("|").map((cell) => cell.trim()));
  }
  assert(rows.length > 2, `the "${heading}" section has no table`);
  return rows.slice(2); // header and separator
}

const code = (cell: string) => cell.match(/^`([^`]+)`$/)?.[1];

/** `130 SIGINT`, `SIGTERM: 143`: every signal and exit number a text pairs up. */
function signalPairs(text: string): [string, number][] {
  const pairs: [string, number][] = [];
  for (const m of text.matchAll(/\b(\d{3}) (SIG[A-Z]+)\b/g)) pairs.push([m[2], Number(m[1])]);
  for (const m of text.matchAll(/\b(SIG[A-Z]+): (\d{3})\b/g)) pairs.push([m[1], Number(m[2])]);
  return pairs;
}

Deno.test("the exit-code table in docs/exit-codes.md lists exactly the codes of EXIT", () => {
  const rows = tableAfter("Exit codes");
  const named = rows.filter((r) => code(r[1]) !== undefined);
  const documented = Object.fromEntries(named.map((r) => [code(r[1])!, Number(r[0])]));
  assertEquals(documented, { ...EXIT });
  assertEquals(named.length, Object.keys(EXIT).length, "each name appears once");
  for (const row of named) assert(/^\d+$/.test(row[0]), `exit "${row[0]}" is a number`);
  const numbers = named.map((r) => r[0]);
  assertEquals(new Set(numbers).size, numbers.length, "no exit number is listed twice");
});

Deno.test("the exit-code table documents signals, guard's pass-through and --conflict-exit-code", () => {
  const unnamed = tableAfter("Exit codes").filter((r) => code(r[1]) === undefined);
  assertEquals(unnamed.map((r) => r[0]), ["128+N", "any", "N"]);
  const signals = signalPairs(unnamed[0][2]);
  assertEquals(signals.map(([s]) => s).sort(), ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM"]);
  for (const [signal, exit] of signals) {
    assertEquals(exit, exitCodeForSignal(signal as Deno.Signal), signal);
  }
  assert(unnamed[2][2].includes("--conflict-exit-code N"), "the N row names the flag");
});

Deno.test("the error-code table in docs/exit-codes.md matches EXIT_BY_CODE exactly", () => {
  const rows = tableAfter("Error codes");
  const documented = Object.fromEntries(rows.map((r) => [code(r[0]) ?? r[0], r[1]]));
  const { interrupted, ...mapped } = documented;
  assertEquals(
    Object.fromEntries(Object.entries(mapped).map(([k, v]) => [k, Number(v)])),
    { ...EXIT_BY_CODE },
  );
  assertEquals(rows.length, Object.keys(EXIT_BY_CODE).length + 1, "each code appears once");
  assertEquals(interrupted, "128+N");
  const signals = signalPairs(rows.find((r) => r[0] === "`interrupted`")![2]);
  assert(signals.length > 0, "the interrupted row gives examples");
  for (const [signal, exit] of signals) {
    assertEquals(exit, exitCodeForSignal(signal as Deno.Signal), signal);
  }
});

// --- exitCodeFor, one row per error class ---------------------------------------------------

const NOW = Date.parse("2026-11-25T12:00:00Z");
const LOCK: LockRecord = {
  name: "build",
  lockId: "0123456789abcdef0123456789abcdef",
  kind: "lock",
  owner: "alice",
  host: "devbox",
  agentId: "agent-a",
  pid: 4242,
  acquiredMs: NOW - 60_000,
  ttlMs: 300_000,
  expiresMs: NOW + 240_000,
  fence: 7,
};
const FREEZE: LockRecord = { ...LOCK, kind: "freeze", pid: 0, fence: 0, reason: "release" };
const LIVE: Verdict = {
  kind: "live",
  reason: "process-alive",
  scope: "local",
  expired: false,
  pidState: "alive",
  childState: "none",
};
const UNREADABLE = { kind: "corrupt" as const, problem: "not JSON", ageMs: 100 };
const TICKET = {
  seq: 1,
  path: "queue/build/000000000001.json",
  pid: 4343,
  host: "devbox",
  owner: "bob",
  agentId: "agent-b",
  sinceMs: NOW,
  beatMs: NOW,
};
const HELD = Reflect.construct(lockErrors.LockHeldError, [
  "build",
  { kind: "lock", lock: LOCK, verdict: LIVE },
  NOW,
]);

/** Every error class lokt raises, how to make one, and the exit code and error code it must get. */
const CLASSES: Record<string, { args: unknown[]; code: string; exit: number }> = {
  UsageError: { args: ["unknown flag --x"], code: "usage", exit: 64 },
  InvalidNameError: { args: ["../x", 'it contains "/"'], code: "invalid_name", exit: 64 },
  InterruptedError: { args: ["SIGINT"], code: "interrupted", exit: 130 },
  ConfigError: {
    args: ["lokt.jsonc", "guard[0].ttl: bad", { line: 3, column: 5 }],
    code: "invalid_config",
    exit: 1,
  },
  UnsupportedVersionError: { args: ["locks/build.json", 2], code: "unsupported_version", exit: 1 },
  IoError: { args: ["cannot read locks/build.json", new Error("EACCES")], code: "io", exit: 1 },
  SymlinkError: { args: ["/r/queue/build", "directory"], code: "io", exit: 1 },
  LockHeldError: {
    args: ["build", { kind: "lock", lock: LOCK, verdict: LIVE }, NOW],
    code: "held",
    exit: 2,
  },
  QueuedError: { args: ["build", [TICKET]], code: "held", exit: 2 },
  SlotsMismatchError: { args: ["build", 3, 2, 3], code: "slots_mismatch", exit: 64 },
  FrozenError: { args: ["build", FREEZE, NOW], code: "frozen", exit: 2 },
  WaitTimeoutError: { args: ["build", 30_000, HELD], code: "timeout", exit: 2 },
  NotFoundError: { args: ["build"], code: "not_found", exit: 3 },
  NotOwnerError: { args: ["build", LOCK, "bob (agent agent-b)"], code: "not_owner", exit: 4 },
  NotStaleError: { args: ["build", LOCK, LIVE, NOW], code: "not_stale", exit: 2 },
  UnreadableLockError: { args: ["build", UNREADABLE], code: "corrupt", exit: 1 },
  AlreadyFrozenError: { args: ["build", FREEZE, NOW], code: "frozen", exit: 2 },
  UnreadableFreezeError: { args: ["build", UNREADABLE], code: "corrupt", exit: 1 },
};

const MODULES: Record<string, unknown> = { ...coreErrors, ...lockErrors };

function errorClasses(): string[] {
  return Object.entries(MODULES)
    .filter(([, value]) =>
      typeof value === "function" && value.prototype instanceof coreErrors.LoktError
    )
    .map(([name]) => name)
    .sort();
}

Deno.test("every error class lokt defines is in the exit-code table of this test, and no other", () => {
  assertEquals(errorClasses(), Object.keys(CLASSES).sort());
});

for (const [name, row] of Object.entries(CLASSES)) {
  Deno.test(`exitCodeFor maps ${name} (${row.code}) to exit ${row.exit}`, () => {
    const error = Reflect.construct(MODULES[name] as typeof coreErrors.LoktError, row.args);
    assert(error instanceof coreErrors.LoktError, `${name} is a LoktError`);
    assertEquals([error.code, exitCodeFor(error)], [row.code, row.exit]);
    assert(error.message.length > 0, `${name} says what happened`);
  });
}

Deno.test("the engine's errors name no command line in their hints; the CLI gives its own", () => {
  for (const [name, row] of Object.entries(CLASSES)) {
    if (name === "UsageError") continue; // the CLI's own error
    const error = Reflect.construct(MODULES[name] as typeof coreErrors.LoktError, row.args);
    assert(!/--[a-z]|`lokt /.test(error.hint ?? ""), `${name}: ${error.hint}`);
  }
  const cli = (name: string) =>
    hintFor(Reflect.construct(MODULES[name] as typeof coreErrors.LoktError, CLASSES[name].args));
  assertMatch(cli("LockHeldError")!, /^add --wait to wait for it .*`lokt why build`$/);
  assertEquals(cli("QueuedError"), "add --wait to join the queue");
  assertMatch(cli("SlotsMismatchError")!, /^use --slots 3, or wait until `lokt exists build`/);
  assertMatch(cli("WaitTimeoutError")!, /^a longer --timeout/);
  assertEquals(cli("NotStaleError"), "only `lokt unlock build --force` removes a live lock");
  assertEquals(
    cli("UnsupportedVersionError"),
    "upgrade lokt to work with it, or remove it with `lokt unlock build --force`",
  );
  assertEquals(cli("IoError"), undefined, "others keep their own");
});

Deno.test("interruptions exit 128 plus the signal's number", () => {
  const exits = (["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM"] as const).map((signal) =>
    exitCodeFor(new coreErrors.InterruptedError(signal))
  );
  assertEquals(exits, [129, 130, 131, 143]);
});

Deno.test("an abort without a signal (only the library has one) says its reason and exits 1", () => {
  const error = new coreErrors.InterruptedError({ aborted: new Error("shutting down") });
  assertEquals([error.code, error.message, error.signal], [
    "interrupted",
    "aborted: shutting down",
    undefined,
  ]);
  assertEquals(exitCodeFor(error), EXIT.error);
});

Deno.test("anything that is not a LoktError is a bug: exit 1", () => {
  assertEquals(exitCodeFor(new Error("boom")), EXIT.error);
  assertEquals(exitCodeFor(new TypeError("x is undefined")), EXIT.error);
  assertEquals(exitCodeFor("a thrown string"), EXIT.error);
  assertEquals(exitCodeFor(undefined), EXIT.error);
});

Deno.test("unlock --break-stale of a live lock exits 2 with the error code not_stale", async () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const took = await loktInProcess(["lock", "build"], { env: holderEnv(root, "agent-a") });
  assertEquals(took.code, 0, took.stderr);
  const refused = await loktInProcess(["unlock", "build", "--break-stale", "--json"], {
    env: holderEnv(root, "agent-b"),
  });
  assertEquals(refused.code, 2, refused.stderr);
  assertEquals(JSON.parse(refused.stdout).error.code, "not_stale");
});
