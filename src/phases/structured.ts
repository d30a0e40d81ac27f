/**
 * One model call whose answer must be a call of its one tool that fits a zod schema (the gate's
 * verdict, the review, the triage). The tool is offered, not forced: the newest models (Opus 5.5,
 * Sonnet 5.5, Fable 5.1) answer a forced tool choice with an error, and a forced call cannot think
 * first; the prompt says to answer with the tool. An answer without the call, or with input that
 * fails the schema, is sent back once with the reason; a second bad answer throws
 * `StructuredOutputError`.
 */
import { z } from "zod";
import type { ContentBlock, Message, TextBlock, ToolDefinition, ToolUseBlock } from "../llm/model.js";
import type { CallContext, MeteredModel } from "../llm/metered-model.js";
import type { RenderedPrompt } from "../prompts/prompt.js";
import { FinalError } from "../errors.js";

/** The tool a structured answer is given through: its input schema is the zod schema's. */
export function answerTool(name: string, description: string, schema: z.ZodType): ToolDefinition {
  return { name, description, input_schema: z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown> };
}

export class StructuredOutputError extends FinalError {
  override name = "StructuredOutputError";
}

export interface StructuredCall<T> {
  prompt: RenderedPrompt;
  system?: TextBlock[];
  tool: ToolDefinition;
  /** What the answer is, for the retry message ("verdict", "review"…). */
  noun: string;
  schema: z.ZodType<T>;
  context: Omit<CallContext, "prompt">;
  maxTokens: number;
  signal?: AbortSignal;
}

export interface StructuredResult<T> {
  value: T;
  costMicros: number | null;
  calls: number;
}

export async function structuredCall<T>(model: MeteredModel, call: StructuredCall<T>): Promise<StructuredResult<T>> {
  const messages: Message[] = [{ role: "user", content: call.prompt.text }];
  let costMicros: number | null = 0;
  let problem = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    const response = await model.call({
      context: { ...call.context, prompt: { id: call.prompt.id, sha256: call.prompt.sha256 } },
      request: {
        ...(call.system ? { system: call.system } : {}),
        messages,
        tools: [call.tool],
        maxTokens: call.maxTokens,
      },
      signal: call.signal,
    });
    costMicros = costMicros === null || response.costMicros === null ? null : costMicros + response.costMicros;
    const use = response.content.find((b): b is ToolUseBlock => b.type === "tool_use" && (b as ToolUseBlock).name === call.tool.name);
    if (!use) {
      problem =
        response.stopReason === "max_tokens" ? "the answer was cut off before the tool call" : `the answer did not call ${call.tool.name}`;
    } else {
      const parsed = call.schema.safeParse(use.input);
      if (parsed.success) return { value: parsed.data, costMicros, calls: attempt };
      problem = parsed.error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`).join("; ");
    }
    messages.push({ role: "assistant", content: response.content });
    messages.push({ role: "user", content: retryContent(call.tool.name, call.noun, use, problem) });
  }
  throw new StructuredOutputError(`the ${call.context.phase} answer was not a valid ${call.noun} twice in a row (${problem})`);
}

function retryContent(tool: string, noun: string, use: ToolUseBlock | undefined, problem: string): ContentBlock[] {
  const text = `That was not a valid ${noun}: ${problem}. Call ${tool} once, with input that fits its schema.`;
  return use ? [{ type: "tool_result", tool_use_id: use.id, content: text, is_error: true }] : [{ type: "text", text }];
}
