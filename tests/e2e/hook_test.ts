/**
 * The hook end to end: three simulated agents send the same push-like command through the real
 * `lokt hook claude-code` at once and run what it returns, as the harness would; a witness shows
 * that the three critical sections never overlap and that all of them complete. A negative
 * control runs the same commands unguarded and must see the witness catch an overlap.
 */

import { assert, assertEquals } from "../helpers/assert.ts";
import { auditEvents, holderEnv, lokt, REPO, tempDir } from "../helpers/cli.ts";
import { wrapperScript } from "../../scripts/install_local.ts";

/**
 * The push-like command: enters a critical section that a directory marks (mkdir fails when
 * another holder is inside), logs its start and end, holds it a moment. With BARRIER set it
 * first waits, bounded, until all three have started, so that unguarded runs meet.
 */
const FAKEPUSH = `#!/bin/sh
W="$WITNESS"
if [ -n "$BARRIER" ]; then
  : > "$W/ready.$1"
  i=0
  while [ "$(ls "$W" | grep -c '^ready\\.')" -lt 3 ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
fi
if ! mkdir "$W/inside" 2>/dev/null; then
  echo "overlap $1" >> "$W/log"
  exit 99
fi
echo "start $1 $LOKT_LOCK_NAME $LOKT_AGENT_ID" >> "$W/log"
sleep 0.3
echo "end $1" >> "$W/log"
rmdir "$W/inside"
`;

const CONFIG = `{
  // One push at a time, whoever types it.
  "guard": [{ "match": "(^|[;&|]\\\\s*)fakepush\\\\b", "name": "push", "ttl": "1m", "timeout": "60s" }]
}`;

function setup() {
  const dir = tempDir("lokt-hook-e2e-");
  const repo = `${dir.path}/repo`;
  const bin = `${dir.path}/bin`;
  const witness = `${dir.path}/witness`;
  for (const d of [repo, `${repo}/.git`, bin, witness]) Deno.mkdirSync(d, { recursive: true });
  Deno.writeTextFileSync(`${repo}/lokt.jsonc`, CONFIG);
  Deno.writeTextFileSync(`${bin}/lokt`, wrapperScript(REPO, Deno.execPath()), { mode: 0o755 });
  Deno.writeTextFileSync(`${bin}/fakepush`, FAKEPUSH, { mode: 0o755 });
  const root = `${repo}/.git/lokt`;
  const env = {
    ...holderEnv(root, "unused"),
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    SHELL: "/bin/sh",
    WITNESS: witness,
  };
  // The agent id comes from the hook's session id, not from the environment.
  delete (env as Record<string, string>).LOKT_AGENT_ID;
  return { dir, repo, witness, root, env };
}

async function sh(command: string, env: Record<string, string>, cwd: string) {
  const out = await new Deno.Command("bash", {
    args: ["-c", command],
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function logLines(witness: string): string[] {
  try {
    return Deno.readTextFileSync(`${witness}/log`).trim().split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

Deno.test("three agents' push through the hook: never two at once, all complete, each under its session id", async () => {
  const { dir, repo, witness, root, env } = setup();
  using _ = dir;
  const agents = ["agent-a", "agent-b", "agent-c"];
  const results = await Promise.all(agents.map(async (agent) => {
    const input = JSON.stringify({
      session_id: `session-${agent}`,
      cwd: repo,
      permission_mode: "bypassPermissions",
      hook_event_name: "PreToolUse",
      tool_name: "Bash",
      tool_input: { command: `fakepush ${agent}`, description: "push" },
    });
    const answer = await lokt(["hook", "claude-code"], { env, cwd: repo, stdin: input });
    assertEquals([answer.code, answer.stderr], [0, ""]);
    const output = JSON.parse(answer.stdout).hookSpecificOutput;
    assertEquals(output.permissionDecision, "allow");
    return await sh(output.updatedInput.command, env, repo);
  }));
  for (const r of results) assertEquals(r.code, 0, r.stderr);

  const lines = logLines(witness);
  assertEquals(lines.filter((l) => l.startsWith("overlap")), []);
  assertEquals(lines.length, 6, lines.join("\n"));
  // Each start is followed by its own end before anyone else starts.
  for (let i = 0; i < lines.length; i += 2) {
    const [, who, lock, agent] = lines[i].split(" ");
    assertEquals([lock, agent], ["push", `session-${who}`]);
    assertEquals(lines[i + 1], `end ${who}`);
  }
  assertEquals(
    lines.filter((l) => l.startsWith("start")).map((l) => l.split(" ")[1]).sort(),
    agents,
  );
  const acquired = auditEvents(root).filter((e) => e.event === "acquire").map((e) => e.agent_id)
    .sort();
  assertEquals(acquired, agents.map((a) => `session-${a}`));
});

Deno.test("negative control: the same three commands unguarded are caught overlapping by the witness", async () => {
  const { dir, repo, witness, env } = setup();
  using _ = dir;
  const results = await Promise.all(
    ["agent-a", "agent-b", "agent-c"].map((agent) =>
      sh(`fakepush ${agent}`, { ...env, BARRIER: "1" }, repo)
    ),
  );
  const lines = logLines(witness);
  assert(
    lines.some((l) => l.startsWith("overlap")),
    `the witness saw no overlap: ${lines.join(" / ")}`,
  );
  assert(results.some((r) => r.code === 99));
});

Deno.test("a guarded push that cannot get the lock in time ends with two lines saying who holds it", async () => {
  const { dir, repo, root, env } = setup();
  using _ = dir;
  const holder = new Deno.Command("bash", {
    args: ["-c", "exec lokt guard push -- sleep 30"],
    env: { ...env, LOKT_AGENT_ID: "other-agent" },
    clearEnv: true,
    cwd: repo,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0; i < 300; i++) {
      try {
        Deno.statSync(`${root}/locks/push.json`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const input = JSON.stringify({
      session_id: "late",
      cwd: repo,
      tool_name: "Bash",
      tool_input: { command: "fakepush late", timeout: 5_000 },
    });
    const answer = await lokt(["hook", "claude-code"], { env, cwd: repo, stdin: input });
    const command = JSON.parse(answer.stdout).hookSpecificOutput.updatedInput.command;
    const run = await sh(command, env, repo);
    assertEquals(run.code, 2);
    const lines = run.stderr.trim().split("\n");
    assertEquals(lines.length, 2, run.stderr);
    assert(
      /timed out after 4s waiting: lock "push" held by .*other-agent/.test(lines[0]),
      lines[0],
    );
    assert(lines[1].startsWith("hint: "), lines[1]);
  } finally {
    holder.kill("SIGTERM");
    await holder.status;
  }
});
