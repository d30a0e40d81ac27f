/**
 * The gate phase: one `deep` call with a forced tool, validated with zod. An answer without
 * the tool call, or with input that fails validation, is sent back once with the reason; a
 * second bad answer fails the phase with `GateOutputError`.
 */
import type { ContentBlock, Message, ToolUseBlock } from "../../llm/model.js";
import type { CallContext, MeteredModel } from "../../llm/metered-model.js";
import { loadPrompt } from "../../prompts/prompt.js";
import { VERDICT_TOOL, verdictSchema, type Verdict } from "./verdict.js";

export class GateOutputError extends Error {
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

const MAX_TOKENS = 2_048;

export async function runGate(model: MeteredModel, input: GateInput, context: Omit<CallContext, "phase" | "prompt">): Promise<GateResult> {
  const prompt = (await loadPrompt("gate/verdict")).render({ repo_summary: input.repoSummary, issue: input.issue });
  const messages: Message[] = [{ role: "user", content: prompt.text }];
  let costMicros: number | null = 0;
  let problem = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    const response = await model.call({
      context: { ...context, phase: "gate", agent: "gate", prompt: { id: prompt.id, sha256: prompt.sha256 } },
      request: { messages, tools: [VERDICT_TOOL], toolChoice: { type: "tool", name: VERDICT_TOOL.name }, maxTokens: MAX_TOKENS },
    });
    costMicros = costMicros === null || response.costMicros === null ? null : costMicros + response.costMicros;
    const call = response.content.find((b): b is ToolUseBlock => b.type === "tool_use" && (b as ToolUseBlock).name === VERDICT_TOOL.name);
    if (!call) {
      problem = response.stopReason === "max_tokens" ? "the answer was cut off before the tool call" : "the answer did not call submit_verdict";
    } else {
      const parsed = verdictSchema.safeParse(call.input);
      if (parsed.success) return { verdict: consistent(parsed.data), costMicros, calls: attempt };
      problem = parsed.error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`).join("; ");
    }
    // Once more, telling the model what was wrong.
    messages.push({ role: "assistant", content: response.content });
    messages.push({ role: "user", content: retryContent(call, problem) });
  }
  throw new GateOutputError(`the gate's answer was not a valid verdict twice in a row (${problem})`);
}

function retryContent(call: ToolUseBlock | undefined, problem: string): ContentBlock[] {
  const text = `That was not a valid verdict: ${problem}. Call submit_verdict once, with input that fits its schema.`;
  return call ? [{ type: "tool_result", tool_use_id: call.id, content: text, is_error: true }] : [{ type: "text", text }];
}

/** `ready` follows the criteria, whatever the model said: no missing one, at most one weak. */
function consistent(verdict: Verdict): Verdict {
  const statuses = Object.values(verdict.criteria).map((c) => c.status);
  const ready = !statuses.includes("missing") && statuses.filter((s) => s === "weak").length <= 1;
  return { ...verdict, ready: verdict.ready && ready };
}
