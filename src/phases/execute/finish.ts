/**
 * `finish_unit`: how an execution agent says it is done. Ending is a tool call, not a reply
 * without one, so a question or a progress note never ends a unit; its input is validated like
 * `submit_plan` (every review thread the unit was given gets exactly one answer, by its id).
 */
import { z } from "zod";
import type { ToolDefinition } from "../../llm/model.js";
import { answerTool } from "../structured.js";

export const FINISH_UNIT = "finish_unit";

const threadAnswer = z.strictObject({
  thread: z.string().min(1).max(20).describe("The review thread's id as given in <feedback>, e.g. T1."),
  status: z.enum(["done", "declined"]).describe("done: the change asked for is made; declined: it is not, and `answer` says why."),
  answer: z.string().min(1).max(2_000).describe("One to three sentences posted in the thread: what you changed, or why not."),
});

export const finishSchema = z.strictObject({
  summary: z
    .string()
    .min(1)
    .max(4_000)
    .describe(
      "2-5 plain sentences for the pull request: what changed, which checks you ran and their result. If you changed nothing, say exactly why.",
    ),
  files_touched: z
    .array(z.string().min(1).max(300))
    .max(200)
    .describe("The files you created or changed, relative to the repository root."),
  answers: z
    .array(threadAnswer)
    .max(100)
    .optional()
    .describe("One answer per review thread in <feedback> (T1, T2, …), when the feedback has review threads; leave it out otherwise."),
  open_questions: z
    .array(z.string().min(1).max(1_000))
    .max(20)
    .optional()
    .describe("What you decided without being sure (no human would answer), for the reviewer to check."),
});

export type FinishInput = z.output<typeof finishSchema>;
export type ThreadAnswer = z.output<typeof threadAnswer>;

export const FINISH_UNIT_TOOL: ToolDefinition = answerTool(
  FINISH_UNIT,
  "Finish the work unit. Call it once, when the unit's change is made and checked (or when you are truly blocked): it ends your work.",
  finishSchema,
);

/** The problem with a `finish_unit` input, or undefined: the schema, and one answer for each of `threads`. */
export function finishProblem(input: unknown, threads: readonly string[]): string | undefined {
  const parsed = finishSchema.safeParse(input);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`).join("; ");
  const answers = parsed.data.answers ?? [];
  const given = answers.map((a) => a.thread);
  const unknown = given.filter((id) => !threads.includes(id));
  if (unknown.length)
    return threads.length
      ? `answers name threads that do not exist (${unknown.join(", ")}): the threads are ${threads.join(", ")}`
      : `there are no review threads to answer: leave answers out (it named ${unknown.join(", ")})`;
  const twice = given.filter((id, i) => given.indexOf(id) !== i);
  if (twice.length) return `answers give ${[...new Set(twice)].join(", ")} more than once: one answer per thread`;
  const missing = threads.filter((id) => !given.includes(id));
  if (missing.length) return `answers must answer every review thread: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing`;
  return undefined;
}
