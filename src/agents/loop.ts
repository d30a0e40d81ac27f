/**
 * The agent loop: run → step → query → execute tools. Limits (turns, tokens, wall time; dollars
 * through the metered client's budgets) are checked before every model call and end the loop
 * with a typed exit. A model mistake (an unknown tool, input that fits no schema, a tool call
 * cut off by max_tokens) becomes an error tool_result and the loop goes on, a bounded number of
 * times. Every tool call and its result is stored with the run, secrets masked.
 */
import type { Database } from "../db/database.js";
import type { ContentBlock, Message, TextBlock, ToolDefinition, ToolUseBlock } from "../llm/model.js";
import type { CallContext, MeteredModel, MeteredResponse } from "../llm/metered-model.js";
import { withMovingBreakpoint } from "../llm/prompt-cache.js";
import { recordToolCall } from "../stores/agent-records.js";
import { FinalError } from "../errors.js";
import { toolSpan } from "../observability/spans.js";

export interface AgentTool {
  definition: ToolDefinition;
  /** Runs the tool; a mistake by the model is returned as `isError`, never thrown. */
  run(input: unknown, signal?: AbortSignal): Promise<{ content: string; isError: boolean }>;
}

export interface AgentLimits {
  maxTurns: number;
  /** Input + output tokens over the whole loop. */
  maxTokens: number;
  /** Wall time from the start, in ms. */
  maxMs: number;
  /** Model mistakes in a row before the loop gives up. */
  maxConsecutiveErrors: number;
}

export const DEFAULT_LIMITS: AgentLimits = { maxTurns: 40, maxTokens: 2_000_000, maxMs: 30 * 60_000, maxConsecutiveErrors: 3 };

/** Why the loop stopped before the agent said it was done. */
export class AgentLimitReached extends FinalError {
  override name = "AgentLimitReached";
  constructor(
    readonly limit: "turns" | "tokens" | "time" | "errors",
    message: string,
  ) {
    super(message);
  }
}

export interface AgentResult {
  /** The final answer's text. */
  text: string;
  /** A final tool call that ends the loop (e.g. submit_plan), when the agent has one. */
  submitted?: { name: string; input: unknown };
  turns: number;
  tokens: number;
  messages: Message[];
}

export interface AgentSpec {
  model: MeteredModel;
  db: Database;
  context: Omit<CallContext, "agent"> & { agent: string };
  system: TextBlock[];
  tools: AgentTool[];
  /** A tool whose call ends the loop with its input (not executed). */
  finishTool?: ToolDefinition;
  /** Checks the finish tool's input: a problem goes back to the model as an error result. */
  validateFinish?: (input: unknown) => string | undefined;
  task: string;
  maxTokensPerTurn?: number;
  limits?: Partial<AgentLimits>;
  signal?: AbortSignal;
  now?: () => number;
}

export async function runAgent(spec: AgentSpec): Promise<AgentResult> {
  const limits = { ...DEFAULT_LIMITS, ...spec.limits };
  const now = spec.now ?? Date.now;
  const started = now();
  const tools = new Map(spec.tools.map((t) => [t.definition.name, t]));
  const all = [...spec.tools.map((t) => t.definition), ...(spec.finishTool ? [spec.finishTool] : [])];
  // The tool list is the first part of the cached prefix: its last entry carries a breakpoint.
  const definitions = all.map((d, i) => (i === all.length - 1 ? { ...d, cache_control: { type: "ephemeral" as const } } : d));
  let messages: Message[] = [{ role: "user", content: spec.task }];
  let tokens = 0;
  let errorsInRow = 0;
  for (let turn = 1; ; turn++) {
    // limits, before each model call
    if (turn > limits.maxTurns)
      throw new AgentLimitReached("turns", `${spec.context.agent} used its ${limits.maxTurns} turns without finishing`);
    if (tokens >= limits.maxTokens)
      throw new AgentLimitReached(
        "tokens",
        `${spec.context.agent} used ${tokens.toLocaleString("en-US")} tokens, its limit is ${limits.maxTokens.toLocaleString("en-US")}`,
      );
    if (now() - started >= limits.maxMs)
      throw new AgentLimitReached("time", `${spec.context.agent} ran out of its ${Math.round(limits.maxMs / 60_000)} minutes`);

    messages = withMovingBreakpoint(messages);
    const response: MeteredResponse = await spec.model.call({
      context: { ...spec.context, agent: spec.context.agent },
      request: { system: spec.system, messages, tools: definitions, maxTokens: spec.maxTokensPerTurn ?? 8_192 },
      signal: spec.signal,
    });
    tokens +=
      (response.usage.inputTokens ?? 0) +
      (response.usage.cacheReadTokens ?? 0) +
      (response.usage.cacheWriteTokens ?? 0) +
      (response.usage.outputTokens ?? 0);
    messages.push({ role: "assistant", content: response.content });
    const calls = response.content.filter((b): b is ToolUseBlock => b.type === "tool_use");
    const text = response.content
      .filter((b): b is TextBlock => b.type === "text")
      .map((b) => b.text)
      .join("\n");

    if (calls.length === 0) {
      if (response.stopReason === "max_tokens") {
        if (++errorsInRow > limits.maxConsecutiveErrors)
          throw new AgentLimitReached("errors", `${spec.context.agent}'s answers keep being cut off by max_tokens`);
        messages.push({ role: "user", content: "Your answer was cut off by the output limit. Continue, in smaller steps." });
        continue;
      }
      if (spec.finishTool) {
        if (++errorsInRow > limits.maxConsecutiveErrors)
          throw new AgentLimitReached("errors", `${spec.context.agent} stopped without calling ${spec.finishTool.name}`);
        messages.push({ role: "user", content: `Finish by calling ${spec.finishTool.name}.` });
        continue;
      }
      return { text, turns: turn, tokens, messages };
    }

    const results: ContentBlock[] = [];
    let mistakes = 0;
    for (const call of calls) {
      const finishing = spec.finishTool && call.name === spec.finishTool.name;
      const problem = finishing && response.stopReason !== "max_tokens" ? (spec.validateFinish?.(call.input) ?? null) : undefined;
      if (finishing && problem === null) {
        return { text, submitted: { name: call.name, input: call.input }, turns: turn, tokens, messages };
      }
      const t0 = now();
      let outcome: { content: string; isError: boolean };
      const tool = tools.get(call.name);
      if (problem) {
        outcome = { content: `That ${call.name} input is not valid: ${problem}. Fix it and call ${call.name} again.`, isError: true };
      } else if (response.stopReason === "max_tokens" && call === calls[calls.length - 1]) {
        outcome = {
          content: "This tool call was cut off by the output limit, so its input is incomplete: call it again, with less at once.",
          isError: true,
        };
      } else if (!tool) {
        outcome = {
          content: `There is no tool named ${call.name}. The tools are: ${definitions.map((d) => d.name).join(", ")}.`,
          isError: true,
        };
      } else {
        outcome = await toolSpan(call, () => tool.run(call.input, spec.signal));
      }
      if (outcome.isError) mistakes++;
      await record(spec, turn, call, outcome, now() - t0);
      results.push({ type: "tool_result", tool_use_id: call.id, content: outcome.content, ...(outcome.isError ? { is_error: true } : {}) });
    }
    errorsInRow = mistakes === calls.length ? errorsInRow + 1 : 0;
    if (errorsInRow > limits.maxConsecutiveErrors) {
      throw new AgentLimitReached("errors", `${spec.context.agent}'s tool calls failed ${errorsInRow} turns in a row`);
    }
    messages.push({ role: "user", content: results });
  }
}

async function record(spec: AgentSpec, turn: number, call: ToolUseBlock, outcome: { content: string; isError: boolean }, ms: number) {
  await recordToolCall(
    spec.db,
    { runId: spec.context.runId, phase: spec.context.phase, agent: spec.context.agent, turn },
    call,
    outcome,
    ms,
  );
}
