/** What killed processes leave in tmp/: tags in names, judged by pid, start token and scope. */

import { assert, assertEquals } from "../helpers/assert.ts";
import { FakeProbe } from "../helpers/fake_probe.ts";
import { dirNames, tempDir } from "../helpers/cli.ts";
import type { LockContext } from "../../src/locks/context.ts";
import { ensureLayout, layoutOf } from "../../src/locks/layout.ts";
import { sweepLeftovers, tagOf, writerIsGone, writerTag } from "../../src/locks/leftovers.ts";

function context(root: string, probe: FakeProbe, pid = 1): LockContext {
  const layout = layoutOf(root);
  ensureLayout(layout);
  return {
    layout,
    now: () => 0,
    probe,
    audit: { append() {} },
    actor: { owner: "t", host: "box", pid, agentId: "t" },
  };
}

Deno.test("a tmp/ entry's name carries its writer's pid, start token and scope", () => {
  const cases: [string, ReturnType<typeof tagOf>][] = [
    ["build.42-s42-0a1b2c3d.beef.tmp", { pid: 42, start: "s42", scope: "0a1b2c3d" }],
    ["my.name-1.7-123456-0a1b2c3d.beef.tmp", { pid: 7, start: "123456", scope: "0a1b2c3d" }],
    ["rehearsal.42--0a1b2c3d.cafe", { pid: 42, start: "", scope: "0a1b2c3d" }],
    ["build.42.beef.tmp", undefined], // written before tags: left to the age rule
    ["rehearsal.42.cafe", undefined],
    ["notes.txt", undefined],
  ];
  for (const [name, expected] of cases) assertEquals(tagOf(name), expected, name);
});

Deno.test("a writer is gone when its pid is dead or recycled, judged only in its own scope", () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: 1 }).add({ pid: 20 }).add({ pid: 30, start: "new" });
  const ctx = context(dir.path, probe);
  const scope = writerTag(ctx).split("-")[2];
  const other = scope === "00000000" ? "11111111" : "00000000";
  assertEquals(writerIsGone(ctx, `x.10-s10-${scope}.ab.tmp`), true, "dead pid");
  assertEquals(writerIsGone(ctx, `x.20-s20-${scope}.ab.tmp`), false, "alive, same start");
  assertEquals(writerIsGone(ctx, `x.30-s30-${scope}.ab.tmp`), true, "pid recycled");
  assertEquals(writerIsGone(ctx, `x.10-s10-${other}.ab.tmp`), false, "another pid namespace");
  assertEquals(writerIsGone(ctx, `x.10.ab.tmp`), false, "untagged");
  assertEquals(writerIsGone(ctx, `rehearsal.10-s10-${scope}.ab`), true, "a scratch root");
});

Deno.test("the sweep removes what gone writers left, keeps the living's, and runs once per context", () => {
  using dir = tempDir();
  const probe = new FakeProbe().add({ pid: 1 }).add({ pid: 20 });
  const ctx = context(dir.path, probe);
  const scope = writerTag(ctx).split("-")[2];
  const tmp = `${dir.path}/tmp`;
  const dead = [`a.10-s10-${scope}.01.tmp`, `rehearsal.11-s11-${scope}.02`];
  const kept = [`b.20-s20-${scope}.03.tmp`, `c.10.04.tmp`, `${writerTag(ctx)}.05.tmp`];
  for (const name of [...dead, ...kept]) {
    if (name.startsWith("rehearsal.")) Deno.mkdirSync(`${tmp}/${name}/locks`, { recursive: true });
    else Deno.writeTextFileSync(`${tmp}/${name}`, "{}");
  }
  assertEquals(sweepLeftovers(ctx).sort(), [...dead].sort());
  assertEquals(dirNames(tmp), [...kept].sort());
  Deno.writeTextFileSync(`${tmp}/${dead[0]}`, "{}");
  assertEquals(sweepLeftovers(ctx), [], "a context sweeps once");
  assert(dirNames(tmp).includes(dead[0]));
});
