/** File access in the root that never follows a symbolic link, on real files. */

import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { tempDir } from "./helpers/cli.ts";
import { SymlinkError } from "../src/errors.ts";
import { openExisting, openOrCreate, readNoFollow, refuseLinkedDirs } from "../src/nofollow.ts";

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("openOrCreate refuses a dangling link instead of creating its target", () => {
  using dir = tempDir();
  const target = `${dir.path}/elsewhere`;
  Deno.symlinkSync(target, `${dir.path}/fence`);
  const error = assertThrows(
    () => openOrCreate(`${dir.path}/fence`, { read: true, write: true }, 0o600),
    SymlinkError,
  );
  assertEquals(error.path, `${dir.path}/fence`);
  assert(!exists(target), "the link's target was not created");
});

Deno.test("openOrCreate creates a missing file with its mode and opens an existing one", () => {
  using dir = tempDir();
  const path = `${dir.path}/fence`;
  openOrCreate(path, { write: true }, 0o600).close();
  assertEquals((Deno.statSync(path).mode ?? 0) & 0o077, 0, "group and others get nothing");
  Deno.writeTextFileSync(path, "kept\n");
  openOrCreate(path, { read: true, write: true }, 0o600).close();
  assertEquals(Deno.readTextFileSync(path), "kept\n", "an existing file is neither truncated");
});

Deno.test("openExisting and readNoFollow refuse a link to a file, and never read it", () => {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/secret`, "not lokt's\n");
  Deno.symlinkSync(`${dir.path}/secret`, `${dir.path}/record.json`);
  assertThrows(() => openExisting(`${dir.path}/record.json`, { read: true }), SymlinkError);
  assertThrows(() => readNoFollow(`${dir.path}/record.json`), SymlinkError);
});

Deno.test("readNoFollow tells a file, a directory and nothing apart", () => {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/file`, "bytes");
  Deno.mkdirSync(`${dir.path}/dir`);
  const file = readNoFollow(`${dir.path}/file`);
  assertEquals(file.kind === "file" ? new TextDecoder().decode(file.bytes) : file.kind, "bytes");
  assertEquals(readNoFollow(`${dir.path}/dir`).kind, "directory");
  assertEquals(readNoFollow(`${dir.path}/none`).kind, "absent");
  assertEquals(openExisting(`${dir.path}/none`, { read: true }), undefined);
});

Deno.test("refuseLinkedDirs refuses a linked directory, and lets real and missing ones pass", () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/real`);
  Deno.mkdirSync(`${dir.path}/elsewhere`);
  Deno.symlinkSync(`${dir.path}/elsewhere`, `${dir.path}/locks`);
  refuseLinkedDirs([`${dir.path}/real`, `${dir.path}/missing`]);
  const error = assertThrows(
    () => refuseLinkedDirs([`${dir.path}/real`, `${dir.path}/locks`]),
    SymlinkError,
  );
  assertEquals(error.path, `${dir.path}/locks`);
  assert(error.hint?.includes(`mkdir -m 700 ${dir.path}/locks`), error.hint);
});
