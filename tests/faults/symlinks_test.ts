/**
 * Fault: a symbolic link planted inside the lock root, pointing outside it, at every place lokt
 * uses: each directory of the root, each kind of per-name entry, the audit log and its
 * rotations. Outside, decoys wait that lokt would read, take over or clear if it followed the
 * link: stale lock and freeze files, tickets of dead waiters, temporary files of dead writers,
 * old rehearsal roots, audit lines. Every command that may touch the place runs in turn; after
 * each, the outside directory must be unchanged byte for byte (names, contents, modes, times),
 * no decoy may show in any output, and the command either refuses with exit 1 naming the link
 * or goes on without it. The link itself is left in place, and `doctor` fails naming it, with
 * the fix.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../helpers/assert.ts";
import {
  type CliResult,
  deadPid,
  holderEnv,
  lokt,
  platformProbe,
  tempDir,
} from "../helpers/cli.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { writerTag } from "../../src/locks/leftovers.ts";

const TWO_HOURS_AGO = new Date(Date.now() - 2 * 3_600_000);
const DEAD = await deadPid();
const MACHINE = platformProbe().machine();
/** The tag a temporary file of the dead process would carry: a sweep would remove it. */
const DEAD_TAG = writerTag({ actor: { pid: DEAD }, probe: platformProbe() } as LockContext);
const NAME = "build";

/** Lock-file text that any lokt would judge stale (dead pid, expired long ago). */
function decoyRecord(kind: "lock" | "freeze"): string {
  const acquired = new Date(Date.now() - 3 * 3_600_000).toISOString();
  const expired = new Date(Date.now() - 2 * 3_600_000).toISOString();
  return JSON.stringify(
    {
      version: 1,
      name: NAME,
      lock_id: "dec0ydec0ydec0ydec0ydec0ydec0y00",
      owner: "DECOY-owner",
      host: MACHINE.host,
      pid: kind === "lock" ? DEAD : 0,
      agent_id: "DECOY-agent",
      acquired_ts: acquired,
      ttl_sec: 60,
      expires_at: expired,
      kind,
      fence: kind === "lock" ? 41 : 0,
      boot_id: MACHINE.bootId ?? null,
      pid_ns: MACHINE.pidNs ?? null,
      reason: kind === "freeze" ? "DECOY-reason" : null,
    },
    null,
    2,
  ) + "\n";
}

/** A queue ticket of a dead waiter on this machine: a waiter would remove it. */
function decoyTicket(): string {
  return JSON.stringify({
    pid: DEAD,
    pid_start: null,
    host: MACHINE.host,
    boot_id: MACHINE.bootId ?? null,
    pid_ns: MACHINE.pidNs ?? null,
    owner: "DECOY-waiter",
    agent_id: "DECOY-agent",
    since: TWO_HOURS_AGO.toISOString(),
  }) + "\n";
}

function decoyAudit(): string {
  const line = (event: string) =>
    JSON.stringify({
      ts: TWO_HOURS_AGO.toISOString(),
      event,
      name: NAME,
      owner: "DECOY-owner",
      host: MACHINE.host,
      pid: DEAD,
      agent_id: "DECOY-agent",
    });
  return `${line("acquire")}\n${line("release")}\n`;
}

/** Writes `files` (relative path to content; `/` ending makes a directory) under `dir`. */
function fill(dir: string, files: Record<string, string>): void {
  Deno.mkdirSync(dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    if (rel.endsWith("/")) {
      Deno.mkdirSync(path, { recursive: true });
      continue;
    }
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  }
  age(dir);
}

/** Makes everything under `dir` two hours old, as junk left long ago (links included). */
function age(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) age(path);
    if (!entry.isSymlink) Deno.utimeSync(path, TWO_HOURS_AGO, TWO_HOURS_AGO);
  }
  Deno.utimeSync(dir, TWO_HOURS_AGO, TWO_HOURS_AGO);
}

/** Sets a link's own times (`utime` would follow it). */
async function ageLink(path: string): Promise<void> {
  const out = await new Deno.Command("touch", {
    args: ["-h", "-d", TWO_HOURS_AGO.toISOString(), path],
  }).output();
  assertEquals(out.code, 0, `touch -h ${path}`);
}

/** Everything under `dir`, without following links: kind, mode, size, times, bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string, rel: string) => {
    const info = Deno.lstatSync(path);
    const facts = [
      info.isSymlink ? "link" : info.isDirectory ? "dir" : "file",
      (info.mode ?? 0).toString(8),
      info.isDirectory ? "" : String(info.size),
      String(info.mtime?.getTime()),
    ];
    if (info.isSymlink) facts.push(Deno.readLinkSync(path));
    else if (info.isFile) facts.push(Deno.readTextFileSync(path));
    out[rel || "."] = facts.join(" | ");
    if (info.isDirectory) {
      for (const entry of Deno.readDirSync(path)) {
        walk(`${path}/${entry.name}`, rel ? `${rel}/${entry.name}` : entry.name);
      }
    }
  };
  walk(dir, "");
  return out;
}

/** A place in the root where a link is planted, and what waits behind it. */
interface Place {
  /** Path of the link, relative to the root. */
  at: string;
  /** How the test names the place, when {@link Place.at} carries a pid. */
  label?: string;
  /** What the link points to, relative to the outside directory. */
  to: string;
  /** The decoys of the outside directory. */
  outside: Record<string, string>;
  /** A directory of the root: doctor's fix makes one again. */
  directory?: boolean;
  /** The label of each command (see {@link COMMANDS}) that must refuse with exit 1. */
  refusedBy: string[];
}

const TAGGED = `${NAME}.${DEAD_TAG}.0a0b0c0d.tmp`;
const REHEARSAL = `rehearsal.${DEAD_TAG}.0a0b`;
const rehearsalRoot = {
  [`${REHEARSAL}/locks/${NAME}.json`]: decoyRecord("lock"),
  [`${REHEARSAL}/fences/${NAME}`]: "00000000000000000041\n",
};

/** Every command of {@link COMMANDS} that takes the kernel lock of the name. */
const MUTATING = [
  "lock",
  "lock --wait",
  "unlock",
  "guard",
  "lock (rival)",
  "unlock --force",
  "freeze",
  "unfreeze",
];
const TAKING = ["lock", "lock --wait", "guard", "lock (rival)"];

const PLACES: Place[] = [
  {
    at: "locks",
    to: "dir",
    directory: true,
    outside: { [`dir/${NAME}.json`]: decoyRecord("lock"), "dir/DECOY-x.json": decoyRecord("lock") },
    refusedBy: [...MUTATING, "status", "exists", "why", "status --prune-expired"],
  },
  {
    at: "freezes",
    to: "dir",
    directory: true,
    outside: { [`dir/${NAME}.json`]: decoyRecord("freeze"), "dir/DECOY-x.json": "" },
    refusedBy: [...MUTATING, "status", "why", "status --prune-expired"],
  },
  {
    at: "fences",
    to: "dir",
    directory: true,
    outside: { [`dir/${NAME}`]: "00000000000000000041\n", "dir/DECOY-x": "" },
    refusedBy: [...MUTATING, "why"],
  },
  {
    at: `fences/${NAME}`,
    to: "counter",
    outside: { counter: "00000000000000000041 DECOY\n" },
    refusedBy: [...MUTATING, "why"],
  },
  {
    at: `fences/${NAME}`,
    to: "missing-counter", // a dangling link: its target must not be created
    outside: { "DECOY-sibling": "" },
    refusedBy: [...MUTATING, "why"],
  },
  {
    at: "queue",
    to: "dir",
    directory: true,
    outside: {
      [`dir/${NAME}/000000000001.json`]: decoyTicket(),
      "dir/DECOY-q/000000000001.json": decoyTicket(),
    },
    refusedBy: [...MUTATING, "why"],
  },
  {
    at: `queue/${NAME}`,
    to: "tickets",
    directory: true,
    outside: {
      "tickets/000000000001.json": decoyTicket(),
      "tickets/000000000002.json": "",
      "tickets/000000000003.json": decoyTicket(),
    },
    refusedBy: [...TAKING, "why"],
  },
  {
    at: `queue/${NAME}/000000000001.json`,
    to: "ticket.json",
    outside: { "ticket.json": decoyTicket() },
    refusedBy: [],
  },
  {
    at: "tmp",
    to: "dir",
    directory: true,
    outside: {
      [`dir/${TAGGED}`]: decoyRecord("lock"),
      "dir/DECOY-old.tmp": "",
      ...prefixed(rehearsalRoot),
    },
    refusedBy: [...MUTATING, "status --prune-expired"],
  },
  {
    at: `tmp/${TAGGED}`,
    label: "tmp/<a dead writer's temporary file>",
    to: "temp.json",
    outside: { "temp.json": decoyRecord("lock") },
    refusedBy: [],
  },
  {
    at: `tmp/${REHEARSAL}`,
    label: "tmp/<a dead writer's rehearsal root>",
    to: "scratch",
    outside: Object.fromEntries(
      Object.entries(rehearsalRoot).map(([k, v]) => [k.replace(REHEARSAL, "scratch"), v]),
    ),
    refusedBy: [],
  },
  {
    at: "audit.log",
    to: "audit.log",
    outside: { "audit.log": decoyAudit() },
    refusedBy: ["audit"],
  },
  {
    at: "audit.log.1",
    to: "old.log",
    outside: { "old.log": decoyAudit() },
    refusedBy: [],
  },
  {
    at: `locks/${NAME}.json`,
    to: "lock.json",
    outside: { "lock.json": decoyRecord("lock") },
    refusedBy: [...TAKING, "unlock", "unlock --force", "exists", "why"],
  },
  {
    at: `freezes/${NAME}.json`,
    to: "freeze.json",
    outside: { "freeze.json": decoyRecord("freeze") },
    refusedBy: [...TAKING, "freeze", "unfreeze", "why", "status --prune-expired"],
  },
];

function prefixed(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`dir/${k}`, v]));
}

/** Every command that reads or changes the root, in an order that goes through its states. */
const COMMANDS: { label: string; args: string[]; agent?: string }[] = [
  { label: "lock", args: ["lock", NAME, "--ttl", "1m"] },
  { label: "lock --wait", args: ["lock", NAME, "--wait", "--timeout", "700ms"], agent: "rival" },
  { label: "unlock", args: ["unlock", NAME] },
  { label: "guard", args: ["guard", NAME, "--ttl", "1s", "--", "sleep", "0.8"] },
  { label: "lock (rival)", args: ["lock", NAME, "--ttl", "1m"], agent: "rival" },
  { label: "status", args: ["status"] },
  { label: "exists", args: ["exists", NAME] },
  { label: "unlock --force", args: ["unlock", NAME, "--force"] },
  { label: "freeze", args: ["freeze", NAME, "--ttl", "1m"] },
  { label: "why", args: ["why", NAME] },
  { label: "unfreeze", args: ["unfreeze", NAME] },
  { label: "status --prune-expired", args: ["status", "--prune-expired"] },
  { label: "audit", args: ["audit"] },
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A root laid out by lokt (one lock taken and released), with a rotation on every line. */
async function layOut(root: string): Promise<Record<string, string>> {
  const env = (agent: string) =>
    holderEnv(root, agent, { LOKT_AUDIT_MAX_BYTES: "600", LOKT_AUDIT_KEEP: "1" });
  for (const args of [["lock", NAME], ["unlock", NAME]]) {
    const result = await lokt(args, { env: env("tester") });
    assertEquals(result.code, 0, result.stderr);
  }
  return env("tester");
}

for (const place of PLACES) {
  const where = `${place.label ?? place.at} -> ${place.to}`;
  Deno.test(`a link at ${where} outside the root is never followed`, async () => {
    using dir = tempDir("lokt-links-");
    const root = `${dir.path}/root`;
    const outside = `${dir.path}/outside`;
    const env = await layOut(root);
    fill(outside, place.outside);
    const link = `${root}/${place.at}`;
    try {
      Deno.removeSync(link, { recursive: true });
    } catch {
      // not there yet (queue/NAME, a ticket, a temporary file, a rotated log)
    }
    Deno.mkdirSync(link.slice(0, link.lastIndexOf("/")), { recursive: true, mode: 0o700 });
    Deno.symlinkSync(`${outside}/${place.to}`, link);
    await ageLink(link);
    const before = snapshot(outside);
    const linkBefore = snapshot(link);
    const named = new RegExp(`${escape(link)} is a symbolic link; lokt does not follow links`);

    const check = (label: string, result: CliResult) => {
      const said = `${label}: exit ${result.code}\n${result.stdout}${result.stderr}`;
      assertEquals(snapshot(outside), before, `${label} changed the outside directory`);
      assertNotMatch(result.stdout + result.stderr, /DECOY/, `${label} read a decoy: ${said}`);
      assertNotMatch(result.stderr, /^\s+at |bug in lokt/m, said);
      if (place.refusedBy.includes(label)) {
        assertEquals(result.code, 1, said);
        assertMatch(result.stderr, new RegExp(`^error: ${named.source}`, "m"), said);
        assertMatch(result.stderr, /^hint: (remove|replace) the link/m, said);
      } else {
        // Not its place, or it went on without the link: never an error of its own.
        assert(result.code !== 1 || named.test(result.stderr), said);
      }
    };

    for (const command of COMMANDS) {
      const agentEnv = command.agent ? { ...env, LOKT_AGENT_ID: command.agent } : env;
      check(command.label, await lokt(command.args, { env: agentEnv }));
    }

    const doctor = await lokt(["doctor"], { env });
    assertEquals(snapshot(outside), before, "doctor changed the outside directory");
    assertNotMatch(doctor.stdout + doctor.stderr, /DECOY/, `doctor read a decoy: ${doctor.stdout}`);
    assertEquals(doctor.code, 1, doctor.stdout);
    assertMatch(
      doctor.stdout,
      new RegExp(`^fail\\s+layout\\s+.*\\b${escape(place.at)} \\(symbolic link\\)`, "m"),
    );
    const fix = place.directory ? `rm ${link} && mkdir -m 700 ${link}` : `rm ${link}`;
    assertMatch(doctor.stdout, new RegExp(`^\\s+fix: .*${escape(fix)}`, "m"));
    assertEquals(snapshot(link), linkBefore, "the link is left for its owner to remove");
  });
}
