/**
 * The review phase (`standard` unless configured): one tool call (its only tool) that sees the
 * issue, the plan and its acceptance checks, what the work units said they did, the verification
 * results and a wide diff of the change (review-diff.ts: lockfiles and binary files named, not
 * sent), and lists findings, each blocking or a suggestion. The verdict follows from the blocking
 * findings whatever the model said: suggestions never start another round (they go to the PR
 * body). A review that cannot be had (cut off, refused or invalid twice) is `unavailable`: the run ends as
 * a draft that says why, its work kept.
 */
import { z } from "zod";
import { truncateToTokens } from "../../safety/sanitize.js";
import type { ToolDefinition } from "../../llm/model.js";
import { loadPrompt } from "../../prompts/prompt.js";
import type { PhaseEnv } from "../agent-env.js";
import type { UnitReport } from "../execute/execute.js";
import type { Plan } from "../plan/plan-schema.js";
import { answerTool, StructuredOutputError, structuredCall } from "../structured.js";
import type { VerifyOutput } from "../verify/verify.js";
import { PHASE } from "../registry.js";
import { reviewDiffText, type ReviewDiff } from "../../workspace/review-diff.js";

/** Findings and summary before the verdict: a model writes fields in order, so it reasons first. */
export const reviewSchema = z.strictObject({
  findings: z
    .array(
      z.strictObject({
        file: z.string().min(1).max(300),
        line: z.int().min(0),
        severity: z.enum(["blocking", "suggestion"]),
        body: z.string().min(1).max(1_500),
      }),
    )
    .max(15),
  summary: z.string().min(1).max(2_000),
  verdict: z.enum(["approve", "request_changes"]),
});
export type Review = z.output<typeof reviewSchema> & {
  /** Set when no valid review could be had (cut off, refused or invalid twice): why. */
  unavailable?: string;
};

export const REVIEW_TOOL: ToolDefinition = answerTool("submit_review", "Submit the review of the change.", reviewSchema);

/** The diff a reviewer reads: at most this many tokens (the rest is cut, and said). */
const DIFF_TOKENS = 30_000;
/** Room for reasoning in text before the call, and up to 15 findings. */
const MAX_TOKENS = 8_192;

const UNAVAILABLE = {
  cut: "the reviewer's answer was cut off at the output limit twice",
  refused: "the reviewer refused to answer twice",
  invalid: "the reviewer's answer did not fit the review's form twice",
} as const;

export interface ReviewInput {
  issue: string;
  plan: Plan;
  /** The work units' reports, by round (round 1's units, then each fix round's). */
  rounds: UnitReport[][];
  diff: ReviewDiff;
  verify: VerifyOutput;
}

export function verificationText(verify: VerifyOutput): string {
  if (!verify.checks.length) return "No verify commands are configured for this repository.";
  return verify.checks
    .map(
      (c) =>
        `${c.exitCode === 0 && !c.timedOut ? "passed" : c.timedOut ? "timed out" : `failed (exit ${c.exitCode})`}${c.preexisting ? " (already failing before the change)" : ""}: ${c.argv.join(" ")}`,
    )
    .join("\n");
}

/** What the work units said they did, round by round. */
export function summariesText(rounds: UnitReport[][]): string {
  const lines = rounds.flatMap((units, i) =>
    units.map(
      (u) =>
        `Round ${i + 1}, ${u.title} (${u.id})${u.changed ? "" : ", no change"}${u.unfinished ? `, did not finish (${u.unfinished})` : ""}: ${u.summary.trim().slice(0, 1_500)}`,
    ),
  );
  return lines.join("\n\n") || "(none)";
}

export async function runReview(env: PhaseEnv, input: ReviewInput): Promise<Review> {
  const { plan } = input;
  const prompt = (await loadPrompt("review/verdict")).render({
    issue: input.issue,
    plan: [plan.summary, "", ...plan.steps.map((s, i) => `${i + 1}. ${s}`), "", `Test strategy: ${plan.test_strategy}`].join("\n"),
    acceptance_checks: plan.acceptance_checks.map((c) => `- ${c}`).join("\n"),
    work_summaries: summariesText(input.rounds),
    verification: verificationText(input.verify),
    diff: reviewDiffText(input.diff, (patch) => truncateToTokens(patch, DIFF_TOKENS)),
  });
  try {
    const { value } = await structuredCall(env.model, {
      prompt,
      tool: REVIEW_TOOL,
      noun: "review",
      schema: reviewSchema,
      context: { runId: env.runId, installationId: env.installationId, phase: PHASE.review, agent: "review", iteration: env.iteration },
      maxTokens: MAX_TOKENS,
      brief: "at most 8 findings, two sentences each, a short summary",
      signal: env.signal,
    });
    return { ...value, verdict: value.findings.some((f) => f.severity === "blocking") ? "request_changes" : "approve" };
  } catch (error) {
    // the work is done and kept: a review that cannot be had makes a draft, not a failed run
    if (!(error instanceof StructuredOutputError)) throw error;
    env.log.warn({ err: error }, "no review could be had: the run ends as a draft");
    const why = UNAVAILABLE[error.failure];
    return { findings: [], summary: `The change could not be reviewed: ${why}.`, verdict: "request_changes", unavailable: why };
  }
}
