/**
 * What a fix round (round 2 and later) is told, as the feedback text its one agent receives: the
 * reviewers' threads of a revision (kept in every round, never replaced by the checks' or the
 * review's findings), what the last round left to do (loop-decision.ts: failing checks with their
 * raw output, triage hints, blocking review findings), the change so far (`--stat` and a bounded
 * diff, so the agent does not re-explore the tree to learn what earlier rounds did), and what the
 * earlier rounds' units said they did.
 */
import { truncateToTokens } from "../safety/sanitize.js";
import type { UnitReport } from "../phases/execute/execute.js";
import { summariesText } from "../phases/review/review.js";
import { reviewDiffText, type ReviewDiff } from "../workspace/review-diff.js";

/** The change so far, in a fix round's feedback: at most this many tokens of patch. */
export const FIX_DIFF_TOKENS = 8_000;

export interface FixFeedbackInput {
  /** A revision's review threads, as round 1 of the revision got them. */
  human?: string;
  /** What the last round left to do (decideRound's feedback). */
  round: string;
  /** The change since the base commit, as it is now. */
  diff: ReviewDiff;
  /** The work units' reports, round by round. */
  rounds: UnitReport[][];
}

export function fixFeedback(input: FixFeedbackInput): string {
  const human = input.human
    ? [
        "<review_threads>",
        "The pull request's reviewers asked for these changes; they still apply in this round, with what follows:",
        input.human,
        "</review_threads>",
        "",
      ]
    : [];
  return [
    ...human,
    input.round,
    "",
    "<change_so_far>",
    "The change since the base commit as it is in your tree now, earlier rounds' work included:",
    reviewDiffText(input.diff, (patch) => truncateToTokens(patch, FIX_DIFF_TOKENS)),
    "</change_so_far>",
    "",
    "<earlier_rounds>",
    "What the work units of the earlier rounds said they did:",
    summariesText(input.rounds),
    "</earlier_rounds>",
  ].join("\n");
}
