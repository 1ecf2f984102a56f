/** Doctor's layout check: every link and misplaced entry of a real root, each with its fix. */

import { layoutCheck, scanLayout } from "../../src/doctor/layout.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";

Deno.test("a root as lokt lays it out has nothing misplaced", () => {
  using dir = tempDir();
  const layout = layoutOf(`${dir.path}/root`);
  ensureLayout(layout);
  Deno.writeTextFileSync(layout.audit, "");
  Deno.writeTextFileSync(`${layout.fences}/build`, "00000000000000000001\n");
  assertEquals(scanLayout(layout), []);
  assertEquals(layoutCheck([]).status, "ok");
});

Deno.test("every link and misplaced entry is found, each with the command that fixes it", () => {
  using dir = tempDir();
  const root = `${dir.path}/root`;
  const layout = layoutOf(root);
  ensureLayout(layout);
  const elsewhere = `${dir.path}/elsewhere`;
  Deno.mkdirSync(elsewhere);
  Deno.removeSync(layout.tmp);
  Deno.symlinkSync(elsewhere, layout.tmp);
  Deno.symlinkSync(elsewhere, `${layout.queue}/build`);
  Deno.mkdirSync(`${layout.queue}/deploy`);
  Deno.symlinkSync(`${elsewhere}/t`, `${layout.queue}/deploy/000000000001.json`);
  Deno.writeTextFileSync(`${layout.queue}/stray`, "");
  Deno.symlinkSync(`${elsewhere}/f`, `${layout.fences}/build`);
  Deno.mkdirSync(`${layout.fences}/deploy`);
  Deno.symlinkSync(`${elsewhere}/l`, `${layout.locks}/build.json`);
  Deno.symlinkSync(`${elsewhere}/a`, layout.audit);
  Deno.symlinkSync(`${elsewhere}/a1`, `${layout.audit}.1`);
  Deno.mkdirSync(`${layout.slots}/testdb`, { recursive: true });
  Deno.symlinkSync(`${elsewhere}/s`, `${layout.slots}/testdb/2.json`);
  Deno.symlinkSync(elsewhere, `${layout.slots}/pool`);

  const found = scanLayout(layout);
  assertEquals(found.map((m) => [m.path, m.problem, m.fix]), [
    ["locks/build.json", "symbolic link", `rm ${root}/locks/build.json`],
    ["tmp", "symbolic link", `rm ${root}/tmp && mkdir -m 700 ${root}/tmp`],
    ["fences/build", "symbolic link", `rm ${root}/fences/build`],
    ["fences/deploy", "not a file", `mv ${root}/fences/deploy ${root}/fences/deploy.moved`],
    ["queue/build", "symbolic link", `rm ${root}/queue/build && mkdir -m 700 ${root}/queue/build`],
    [
      "queue/deploy/000000000001.json",
      "symbolic link",
      `rm ${root}/queue/deploy/000000000001.json`,
    ],
    [
      "queue/stray",
      "not a directory",
      `mv ${root}/queue/stray ${root}/queue/stray.moved && mkdir -m 700 ${root}/queue/stray`,
    ],
    ["slots/pool", "symbolic link", `rm ${root}/slots/pool && mkdir -m 700 ${root}/slots/pool`],
    ["slots/testdb/2.json", "symbolic link", `rm ${root}/slots/testdb/2.json`],
    ["audit.log", "symbolic link", `rm ${root}/audit.log`],
    ["audit.log.1", "symbolic link", `rm ${root}/audit.log.1`],
  ]);
  const judged = layoutCheck(found);
  assertEquals(judged.status, "fail");
  assertMatch(
    judged.message,
    /^11 entries lokt refuses to use: locks\/build\.json \(symbolic link\), /,
  );
  assertEquals(judged.hint, found.map((m) => m.fix).join("; "));
});
