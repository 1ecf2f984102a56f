/** Which identity lokt derived for the caller, and how: what its locks will carry. */

import { type Check, check } from "./check.ts";

/** The identity facts doctor shows. */
export interface IdentityFacts {
  owner: string;
  ownerSource: string;
  agentId: string;
  agentSource: string;
  /** No agent or session could be derived: the agent id names the lokt process alone. */
  processScoped: boolean;
  anchorPid?: number;
}

/** Reports the identity; warns when no agent or session could be derived. Pure. */
export function identityCheck(id: IdentityFacts): Check {
  const details = {
    owner: id.owner,
    owner_source: id.ownerSource,
    agent_id: id.agentId,
    agent_source: id.agentSource,
    anchor_pid: id.anchorPid ?? 0,
  };
  const owner = `owner ${id.owner} (from ${id.ownerSource})`;
  if (id.processScoped) {
    return check(
      "identity",
      "warn",
      `${owner}; no agent id (${id.agentSource}): each lokt command is a holder of its own, ` +
        "so a plain lock cannot be re-entered or released by a later command",
      { hint: "set LOKT_AGENT_ID to name the agent or script that holds locks", details },
    );
  }
  const anchor = id.anchorPid ? `, plain locks follow pid ${id.anchorPid}` : "";
  return check(
    "identity",
    "ok",
    `${owner}; agent ${id.agentId} (from ${id.agentSource})${anchor}`,
    { details },
  );
}
