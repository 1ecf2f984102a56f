/** `lokt audit`: query the audit log, or follow it with `--tail`. Read-only. */

import { EVENT_NAMES, type LoggedEvent } from "../../audit/event.ts";
import { type AuditFilter, parseTimeBound } from "../../audit/reader.ts";
import type { AuditPage } from "../../backends/locks.ts";
import { UsageError } from "../../errors.ts";
import { formatDuration } from "../../locks/describe.ts";
import { assertValidName } from "../../locks/name.ts";
import { closest, expectPositionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import type { Session } from "../session.ts";
import type { ParsedArgs } from "../spec.ts";
import { findCommand } from "../table.ts";

/** Events shown by `--tail` before it starts following, unless `--limit` says otherwise. */
const TAIL_DEFAULT_LIMIT = 10;

/** Runs `lokt audit`. */
export async function run(args: ParsedArgs, session: Session): Promise<number> {
  expectPositionals(findCommand("audit")!, args);
  const { tail, json } = args.flags;
  const filter = filterOf(args, session.world.now());
  if (tail && filter.untilMs !== undefined) {
    throw new UsageError("--until cannot be combined with --tail", "drop one of them");
  }
  const limit = args.flags.limit as number | undefined ?? (tail ? TAIL_DEFAULT_LIMIT : undefined);
  const locks = await session.locks();
  const print = (event: LoggedEvent) => session.out(json ? `${event.line}\n` : eventText(event));
  const skipped = (count: number) =>
    session.warn(`skipped ${count} unparsable line(s) in the audit log`);
  const history = (page: AuditPage) => {
    for (const event of page.events) print(event);
    if (page.skipped > 0) skipped(page.skipped);
  };
  if (!tail) {
    const page = await locks.readAudit(filter, limit);
    history(page);
    if (!page.exists && !json) session.err(`no audit log at ${page.location}\n`);
    else if (page.events.length === 0 && !json) session.err("no matching events\n");
    return EXIT.ok;
  }

  const abort = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const stop = () => abort.abort();
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await locks.followAudit({
      filter,
      limit,
      signal: abort.signal,
      onHistory: history,
      onEvent: (event) => {
        print(event);
        // Like tail -f: a reader that went away (`| head -1`) is noticed at the next write.
        if (session.world.outClosed?.()) abort.abort();
      },
      onSkipped: skipped,
      noWatch: session.world.env("LOKT_NO_WATCH") === "1",
    });
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
  return EXIT.ok; // following ends by Ctrl-C or SIGTERM: the normal way to stop
}

function filterOf(args: ParsedArgs, nowMs: number): AuditFilter {
  const { since, until, name, event, owner } = args.flags;
  const bound = (flag: string, value: unknown) => {
    if (value === undefined) return undefined;
    const parsed = parseTimeBound(String(value), nowMs);
    if ("problem" in parsed) throw new UsageError(`--${flag}: ${parsed.problem}`);
    return parsed.ms;
  };
  const filter: AuditFilter = {
    sinceMs: bound("since", since),
    untilMs: bound("until", until),
    owner: owner as string | undefined,
  };
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined) {
    if (filter.sinceMs > filter.untilMs) {
      throw new UsageError("--since is later than --until", "swap them");
    }
  }
  if (name !== undefined) {
    assertValidName(String(name));
    filter.name = String(name);
  }
  if (event !== undefined) filter.events = eventList(String(event));
  return filter;
}

function eventList(text: string): string[] {
  const events = text.split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (events.length === 0) throw new UsageError("--event needs at least one event name");
  for (const event of events) {
    if ((EVENT_NAMES as readonly string[]).includes(event)) continue;
    const guess = closest(event, EVENT_NAMES);
    throw new UsageError(
      `--event: unknown event "${event}"`,
      guess
        ? `did you mean ${guess}? Events: ${EVENT_NAMES.join(", ")}`
        : `events: ${EVENT_NAMES.join(", ")}`,
    );
  }
  return events;
}

/** `2026-05-01T14:00:00.000Z  acquire  build  ana@box  agent-1  pid=42 fence=3 ttl=5m0s`. */
function eventText(event: LoggedEvent): string {
  const r = event.record;
  const host = typeof r.host === "string" && r.host !== "" ? `@${r.host}` : "";
  const agent = typeof r.agent_id === "string" && r.agent_id !== "" ? r.agent_id : "-";
  const fields: string[] = [];
  if (typeof r.pid === "number" && r.pid > 0) fields.push(`pid=${r.pid}`);
  if (typeof r.fence === "number" && r.fence > 0) fields.push(`fence=${r.fence}`);
  if (typeof r.ttl_sec === "number" && r.ttl_sec > 0) {
    fields.push(`ttl=${formatDuration(r.ttl_sec * 1000)}`);
  }
  if (typeof r.extra === "object" && r.extra !== null && !Array.isArray(r.extra)) {
    for (const [key, value] of Object.entries(r.extra)) {
      fields.push(
        `${key}=${
          typeof value === "string" && /^\S+$/.test(value) ? value : JSON.stringify(value)
        }`,
      );
    }
  }
  const cells = [
    String(r.ts),
    event.event.padEnd(14),
    event.name,
    `${event.owner || "?"}${host}`,
    agent,
    ...fields,
  ];
  return cells.join("  ").trimEnd() + "\n";
}
