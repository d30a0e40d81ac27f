/**
 * The review phase (`standard` unless configured): one tool call (its only tool) that sees the plan, its
 * acceptance checks, the verification results and the diff (not the repository), and approves
 * or requests changes with file and line.
 */
import { z } from "zod";
import { truncateToTokens } from "../../github/sanitize.js";
import type { ToolDefinition } from "../../llm/model.js";
import { loadPrompt } from "../../prompts/prompt.js";
import type { PhaseEnv } from "../agent-env.js";
import type { Plan } from "../plan/plan-schema.js";
import { answerTool, structuredCall } from "../structured.js";
import type { VerifyOutput } from "../verify/verify.js";
import { PHASE } from "../registry.js";

export const reviewSchema = z.strictObject({
  verdict: z.enum(["approve", "request_changes"]),
  summary: z.string().min(1).max(2_000),
  findings: z
    .array(
      z.strictObject({
        file: z.string().min(1).max(300),
        line: z.int().min(0),
        severity: z.enum(["blocking", "suggestion"]),
        body: z.string().min(1).max(2_000),
      }),
    )
    .max(30),
});
export type Review = z.output<typeof reviewSchema>;

export const REVIEW_TOOL: ToolDefinition = answerTool("submit_review", "Submit the review of the change.", reviewSchema);

/** The diff a reviewer reads: at most this many tokens (the rest is cut, and said). */
const DIFF_TOKENS = 30_000;

export function verificationText(verify: VerifyOutput): string {
  if (!verify.checks.length) return "No verify commands are configured for this repository.";
  return verify.checks
    .map(
      (c) =>
        `${c.exitCode === 0 && !c.timedOut ? "passed" : c.timedOut ? "timed out" : `failed (exit ${c.exitCode})`}: ${c.argv.join(" ")}`,
    )
    .join("\n");
}

export async function runReview(env: PhaseEnv, input: { plan: Plan; diff: string; verify: VerifyOutput }): Promise<Review> {
  const { plan } = input;
  const prompt = (await loadPrompt("review/verdict")).render({
    plan: [plan.summary, "", ...plan.steps.map((s, i) => `${i + 1}. ${s}`), "", `Test strategy: ${plan.test_strategy}`].join("\n"),
    acceptance_checks: plan.acceptance_checks.map((c) => `- ${c}`).join("\n"),
    verification: verificationText(input.verify),
    diff: truncateToTokens(input.diff || "(empty: nothing changed)", DIFF_TOKENS),
  });
  const { value } = await structuredCall(env.model, {
    prompt,
    tool: REVIEW_TOOL,
    noun: "review",
    schema: reviewSchema,
    context: { runId: env.runId, installationId: env.installationId, phase: PHASE.review, agent: "review", iteration: env.iteration },
    maxTokens: 4_096,
    signal: env.signal,
  });
  // blocking findings mean changes are requested, whatever the verdict says
  const blocking = value.findings.some((f) => f.severity === "blocking");
  return blocking && value.verdict === "approve" ? { ...value, verdict: "request_changes" } : value;
}
