/** File-system errors: short reasons, hints by cause, and unwrapped OS errors shown as I/O errors. */

import { asIoError, IoError, osReason } from "../src/errors.ts";
import { LinuxProbe } from "../src/identity/proc_linux.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./helpers/assert.ts";
import { loktInProcess, tempDir } from "./helpers/cli.ts";

function enospc(message: string): Error {
  return Object.assign(new Error(message), { code: "ENOSPC" });
}

Deno.test("an I/O error keeps the operating system's reason, not Deno's echo of the call", () => {
  const cause = new Deno.errors.PermissionDenied(
    "Permission denied (os error 13): link '/r/tmp/a.1.tmp' -> '/r/locks/a.json'",
  );
  assertEquals(osReason(cause), "Permission denied (os error 13)");
  const error = new IoError("cannot create /r/locks/a.json", cause);
  assertEquals(error.message, "cannot create /r/locks/a.json: Permission denied (os error 13)");
  assertEquals(error.code, "io");
  assertEquals(osReason(new Error("short write: 3 of 9 bytes")), "short write: 3 of 9 bytes");
});

Deno.test("an I/O error says what to do about a denied permission, a full disk, a file in the way", () => {
  const cases: [unknown, RegExp][] = [
    [new Deno.errors.PermissionDenied("Permission denied (os error 13)"), /permissions.*LOKT_ROOT/],
    [enospc("No space left on device (os error 28)"), /file system of the lock root is full/],
    [
      Object.assign(new Error("Read-only file system (os error 30)"), { code: "EROFS" }),
      /read-only/,
    ],
    [new Deno.errors.NotADirectory("Not a directory (os error 20)"), /file stands where/],
  ];
  for (const [cause, hint] of cases) assertMatch(new IoError("cannot x", cause).hint ?? "", hint);
  assertEquals(new IoError("cannot x", new Error("odd")).hint, undefined);
  assertEquals(new IoError("cannot x", enospc("full"), "my hint").hint, "my hint");
});

Deno.test("an unwrapped file-system error becomes an I/O error naming the call and the path", () => {
  const denied = asIoError(
    new Deno.errors.PermissionDenied("Permission denied (os error 13): readdir '/r/queue/build'"),
  );
  assert(denied instanceof IoError);
  assertEquals(denied.message, "cannot list /r/queue/build: Permission denied (os error 13)");

  const full = asIoError(enospc("No space left on device (os error 28)"));
  assert(full instanceof IoError);
  assertEquals(full.message, "file system error: No space left on device (os error 28)");
  assertMatch(full.hint ?? "", /full/);
});

Deno.test("errors that are not about the file system stay what they are", () => {
  assertEquals(asIoError(new TypeError("x is undefined")), undefined);
  assertEquals(asIoError("a string"), undefined);
  assertEquals(asIoError(new Deno.errors.BadResource("Bad resource ID")), undefined);
});

Deno.test("the CLI shows an unwrapped file-system error as an I/O error with a hint, not as a bug", async () => {
  using dir = tempDir();
  const denied = new Proxy(new LinuxProbe(), {
    get(target, key) {
      if (key !== "info") return Reflect.get(target, key);
      return () => {
        throw new Deno.errors.PermissionDenied(
          "Permission denied (os error 13): readfile '/proc/1/stat'",
        );
      };
    },
  });
  const env = { LOKT_ROOT: `${dir.path}/r`, LOKT_NO_DETECT: "1", LOKT_OWNER: "o", NO_COLOR: "1" };
  const result = await loktInProcess(["lock", "build", "--pid", "1"], { env, probe: denied });
  assertEquals(result.code, 1);
  assertEquals(
    result.stderr.split("\n")[0],
    "error: cannot read /proc/1/stat: Permission denied (os error 13)",
  );
  assertMatch(result.stderr, /^hint: check the permissions/m);
  assertNotMatch(result.stderr, /bug in lokt|^\s+at /m);
});
