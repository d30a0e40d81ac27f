/**
 * The gate's verdict: what the model must submit through the `submit_verdict` tool (its only
 * tool). The reasoning comes first (the criteria with their notes, then the questions) and the
 * verdict last (`score`, `ready`): a model writes the fields in order, so it judges the criteria
 * before it commits to a verdict. Lists and notes are capped so that an answer fits its budget.
 */
import { z } from "zod";
import type { ToolDefinition } from "../../llm/model.js";
import { answerTool } from "../structured.js";

const criterion = z.strictObject({
  status: z.enum(["pass", "weak", "missing"]),
  note: z.string().min(1).max(400),
});

export const CRITERIA = ["problem", "acceptance_criteria", "scope", "constraints", "test_plan"] as const;
export type Criterion = (typeof CRITERIA)[number];

export const verdictSchema = z.strictObject({
  criteria: z.strictObject({
    problem: criterion,
    acceptance_criteria: criterion,
    scope: criterion,
    constraints: criterion,
    test_plan: criterion,
  }),
  questions: z.array(z.string().min(1).max(400)).max(5),
  ticket_type: z.enum(["bug", "feature", "refactor", "docs", "chore", "test"]),
  size: z.enum(["xs", "s", "m", "l", "xl"]),
  score: z.int().min(0).max(100),
  ready: z.boolean(),
});

export type Verdict = z.infer<typeof verdictSchema>;

export const VERDICT_TOOL: ToolDefinition = answerTool(
  "submit_verdict",
  "Submit the spec gate's verdict on the issue. Call it exactly once.",
  verdictSchema,
);
