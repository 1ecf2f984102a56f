/** What a harness's own permission rules would make of the command an agent typed. */

/** deny: refused; ask: the user is asked; allow: runs without asking; none: the mode decides. */
export type Verdict = "deny" | "ask" | "allow" | "none";

/** A verdict, the rule behind it, and anything lokt could not read while judging. */
export interface PermissionView {
  verdict: Verdict;
  /** The rule as written, when one decided. */
  rule?: string;
  /** Where that rule is. */
  source?: string;
  /** Settings lokt could not read: with any, lokt never lets a rewrite skip a prompt. */
  doubts: string[];
}
