/**
 * The gate phase: one `deep` call answered through its one tool, validated with zod (one retry with the
 * reason, then `GateOutputError`).
 */
import type { CallContext, MeteredModel } from "../../llm/metered-model.js";
import { loadPrompt } from "../../prompts/prompt.js";
import { StructuredOutputError, structuredCall } from "../structured.js";
import { VERDICT_TOOL, verdictSchema, type Verdict } from "./verdict.js";
import { FinalError } from "../../errors.js";
import { PHASE } from "../registry.js";

export class GateOutputError extends FinalError {
  override name = "GateOutputError";
}

export interface GateInput {
  issue: string;
  repoSummary: string;
}

export interface GateResult {
  verdict: Verdict;
  costMicros: number | null;
  calls: number;
}

/** Room for the reasoning a model may write before its call, and the call itself. */
const MAX_TOKENS = 4_096;

export async function runGate(model: MeteredModel, input: GateInput, context: Omit<CallContext, "phase" | "prompt">): Promise<GateResult> {
  const prompt = (await loadPrompt("gate/verdict")).render({ repo_summary: input.repoSummary, issue: input.issue });
  try {
    const result = await structuredCall(model, {
      prompt,
      tool: VERDICT_TOOL,
      noun: "verdict",
      schema: verdictSchema,
      context: { ...context, phase: PHASE.gate, agent: "gate" },
      maxTokens: MAX_TOKENS,
      brief: "one short sentence per note, at most 3 questions",
    });
    return { verdict: consistent(result.value), costMicros: result.costMicros, calls: result.calls };
  } catch (error) {
    if (error instanceof StructuredOutputError) throw new GateOutputError(error.message.replace(/^the gate answer/, "the gate's answer"));
    throw error;
  }
}

/** `ready` follows the criteria, whatever the model said: no missing one, at most one weak. */
function consistent(verdict: Verdict): Verdict {
  const statuses = Object.values(verdict.criteria).map((c) => c.status);
  const ready = !statuses.includes("missing") && statuses.filter((s) => s === "weak").length <= 1;
  return { ...verdict, ready: verdict.ready && ready };
}
