/**
 * The agent loop: run → step → query → execute tools. Limits (turns, tokens, wall time; dollars
 * through the metered client's budgets) are checked before every model call. An agent with a
 * finish tool (submit_plan, finish_unit) is shown its limits in the task, warned a few turns
 * before the last, and offered only its finish tool on the last turn; a reply without a tool
 * call is sent back with a nudge, since no human reads it. A model mistake (an unknown tool,
 * input that fits no schema, a tool call cut off by the output or context limit) becomes an
 * error tool_result and the loop goes on, a bounded number of times; a failing command is an
 * observation, not a mistake. Every tool call and its result is stored with the run, secrets
 * masked. Old tool results are elided past a context budget, in large steps, so the cached
 * prefix stays valid between prunes.
 */
import type { AgentRecords } from "../stores/agent-records.js";
import type { ContentBlock, Message, TextBlock, ToolDefinition, ToolUseBlock } from "../llm/model.js";
import type { CallContext, MeteredModel, MeteredResponse } from "../llm/metered-model.js";
import { withMovingBreakpoint } from "../llm/prompt-cache.js";
import { FinalError } from "../errors.js";
import { toolSpan } from "../observability/spans.js";
import type { AgentLimits } from "./limits.js";
import { appendNote, contextTokens, elideOldResults, limitsNote, nudgeText, warningText, type PruneOptions } from "./loop-text.js";

export interface ToolOutcome {
  content: string;
  isError: boolean;
  /** False for an error result that is an observation (a command that exited non-zero), not a model mistake. */
  mistake?: boolean;
}

export interface AgentTool {
  definition: ToolDefinition;
  /** Runs the tool; a mistake by the model is returned as `isError`, never thrown. */
  run(input: unknown, signal?: AbortSignal): Promise<ToolOutcome>;
}

export const DEFAULT_LIMITS: AgentLimits = { maxTurns: 40, maxTokens: 2_000_000, maxMs: 30 * 60_000, maxConsecutiveErrors: 3 };

/** How many turns before the last one an agent with a finish tool is told to wrap up. */
export const WARN_TURNS = 3;
/** The share of the token or time limit past which the agent is warned, and past which its turn is its last. */
const WARN_SHARE = 0.75;
const LAST_SHARE = 0.9;

export type LimitKind = "turns" | "tokens" | "time" | "errors" | "refusal";

/** Why the loop stopped before the agent said it was done. */
export class AgentLimitReached extends FinalError {
  override name = "AgentLimitReached";
  constructor(
    readonly limit: LimitKind,
    message: string,
  ) {
    super(message);
  }
}

export interface AgentResult {
  /** The final answer's text (for a loop stopped at a limit: its latest words). */
  text: string;
  /** A final tool call that ends the loop (e.g. submit_plan), when the agent has one. */
  submitted?: { name: string; input: unknown };
  /** Set when the loop ended at a limit or a refusal without its finish tool (only with `endAtLimit`). */
  stopped?: { limit: LimitKind; message: string };
  turns: number;
  tokens: number;
  messages: Message[];
}

export interface AgentSpec {
  model: MeteredModel;
  records: AgentRecords;
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
  /** Return with `stopped` at a limit or a refusal instead of throwing (an execution unit keeps its partial work). */
  endAtLimit?: boolean;
  /** When old tool results are elided; the default elides past 60k tokens of context, keeping the last 6 turns. */
  prune?: PruneOptions;
  signal?: AbortSignal;
  now?: () => number;
}

const CUT = new Set(["max_tokens", "model_context_window_exceeded"]);

export async function runAgent(spec: AgentSpec): Promise<AgentResult> {
  return new AgentRun(spec).run();
}

class AgentRun {
  readonly limits: AgentLimits;
  readonly now: () => number;
  readonly started: number;
  readonly tools: Map<string, AgentTool>;
  readonly definitions: ToolDefinition[];
  readonly prune: PruneOptions;
  messages: Message[];
  tokens = 0;
  errorsInRow = 0;
  lastText = "";
  warned = false;
  lastPrune = 0;
  context = 0;

  constructor(readonly spec: AgentSpec) {
    this.limits = { ...DEFAULT_LIMITS, ...spec.limits };
    this.now = spec.now ?? Date.now;
    this.started = this.now();
    this.tools = new Map(spec.tools.map((t) => [t.definition.name, t]));
    const all = [...spec.tools.map((t) => t.definition), ...(spec.finishTool ? [spec.finishTool] : [])];
    // The tool list is the first part of the cached prefix: its last entry carries a breakpoint.
    this.definitions = all.map((d, i) => (i === all.length - 1 ? withBreakpoint(d) : d));
    this.prune = spec.prune ?? { aboveTokens: 60_000, keepTurns: 6 };
    const task = spec.finishTool ? `${spec.task}\n\n${limitsNote(this.limits, spec.finishTool.name)}` : spec.task;
    this.messages = [{ role: "user", content: task }];
  }

  /** Ends the loop at a limit: a result with `stopped`, or a typed exit. */
  stop(limit: LimitKind, message: string, turn: number): AgentResult {
    if (!this.spec.endAtLimit) throw new AgentLimitReached(limit, message);
    return { text: this.lastText, stopped: { limit, message }, turns: turn - 1, tokens: this.tokens, messages: this.messages };
  }

  limitReached(turn: number): { limit: LimitKind; message: string } | undefined {
    const { limits, spec } = this;
    const who = spec.context.agent;
    if (turn > limits.maxTurns) return { limit: "turns", message: `${who} used its ${limits.maxTurns} turns without finishing` };
    if (this.tokens >= limits.maxTokens) {
      const [used, max] = [this.tokens, limits.maxTokens].map((n) => n.toLocaleString("en-US"));
      return { limit: "tokens", message: `${who} used ${used} tokens, its limit is ${max}` };
    }
    if (this.now() - this.started >= limits.maxMs)
      return { limit: "time", message: `${who} ran out of its ${Math.round(limits.maxMs / 60_000)} minutes` };
    return undefined;
  }

  /** Whether the agent should be warned now, and whether this turn is its last (only the finish tool is offered). */
  nearEnd(turn: number): { warn: boolean; last: boolean } {
    if (!this.spec.finishTool) return { warn: false, last: false };
    const { limits } = this;
    const share = Math.max(this.tokens / limits.maxTokens, (this.now() - this.started) / limits.maxMs);
    const last = turn >= limits.maxTurns || share >= LAST_SHARE;
    return { warn: last || limits.maxTurns - turn + 1 <= WARN_TURNS || share >= WARN_SHARE, last };
  }

  async run(): Promise<AgentResult> {
    const { spec } = this;
    for (let turn = 1; ; turn++) {
      const over = this.limitReached(turn);
      if (over) return this.stop(over.limit, over.message, turn);
      const { warn, last } = this.nearEnd(turn);
      const finish = spec.finishTool?.name ?? "";
      if (last) appendNote(this.messages, warningText(finish, 1));
      else if (warn && !this.warned) appendNote(this.messages, warningText(finish, this.limits.maxTurns - turn + 1));
      this.warned ||= warn;
      this.maybePrune(turn);

      this.messages = withMovingBreakpoint(this.messages);
      const response: MeteredResponse = await spec.model.call({
        context: { ...spec.context, agent: spec.context.agent },
        request: {
          system: spec.system,
          messages: this.messages,
          // the last turn offers only the finish tool (not forced: some models answer a forced tool_choice with an error)
          tools: last && spec.finishTool ? [withBreakpoint(spec.finishTool)] : this.definitions,
          maxTokens: spec.maxTokensPerTurn ?? 8_192,
        },
        signal: spec.signal,
      });
      const u = response.usage;
      this.context = contextTokens(u);
      this.tokens += this.context + (u.outputTokens ?? 0);
      this.messages.push({ role: "assistant", content: response.content });
      const text = response.content
        .filter((b): b is TextBlock => b.type === "text")
        .map((b) => b.text)
        .join("\n");
      if (text.trim()) this.lastText = text;
      const calls = response.content.filter((b): b is ToolUseBlock => b.type === "tool_use");

      if (response.stopReason === "refusal")
        return this.stop("refusal", `${spec.context.agent}'s model refused to go on${text.trim() ? `: ${text.trim()}` : ""}`, turn + 1);
      if (calls.length === 0) {
        const ended = this.answerWithoutTools(response.stopReason, text, turn);
        if (ended) return ended;
        continue;
      }
      const done = await this.runCalls(calls, response.stopReason, text, turn);
      if (done) return done;
    }
  }

  /** A reply with no tool call: the end of an agent without a finish tool, otherwise a nudge. */
  answerWithoutTools(stopReason: string | null, text: string, turn: number): AgentResult | undefined {
    const { spec, limits } = this;
    const cut = stopReason !== null && CUT.has(stopReason);
    if (!cut && !spec.finishTool) return { text, turns: turn, tokens: this.tokens, messages: this.messages };
    if (++this.errorsInRow > limits.maxConsecutiveErrors) {
      const why = cut ? "answers keep being cut off" : `stopped without calling ${spec.finishTool!.name}`;
      return this.stop("errors", `${spec.context.agent} ${why}`, turn + 1);
    }
    if (stopReason === "model_context_window_exceeded") elideOldResults(this.messages, 2);
    const note = cut ? "Your answer was cut off by the output limit. Continue, in smaller steps." : nudgeText(spec.finishTool!.name);
    appendNote(this.messages, note);
    return undefined;
  }

  async runCalls(calls: ToolUseBlock[], stopReason: string | null, text: string, turn: number): Promise<AgentResult | undefined> {
    const { spec } = this;
    const cut = stopReason !== null && CUT.has(stopReason);
    const results: ContentBlock[] = [];
    let mistakes = 0;
    for (const call of calls) {
      const finishing = spec.finishTool && call.name === spec.finishTool.name;
      const problem = finishing && !cut ? (spec.validateFinish?.(call.input) ?? null) : undefined;
      if (finishing && problem === null) {
        return { text, submitted: { name: call.name, input: call.input }, turns: turn, tokens: this.tokens, messages: this.messages };
      }
      const t0 = this.now();
      const outcome = await this.outcome(call, problem, cut && call === calls[calls.length - 1]);
      if (outcome.isError && outcome.mistake !== false) mistakes++;
      await record(spec, turn, call, outcome, this.now() - t0);
      results.push({ type: "tool_result", tool_use_id: call.id, content: outcome.content, ...(outcome.isError ? { is_error: true } : {}) });
    }
    this.errorsInRow = mistakes === calls.length ? this.errorsInRow + 1 : 0;
    this.messages.push({ role: "user", content: results });
    if (this.errorsInRow > this.limits.maxConsecutiveErrors)
      return this.stop("errors", `${spec.context.agent}'s tool calls failed ${this.errorsInRow} turns in a row`, turn + 1);
    return undefined;
  }

  async outcome(call: ToolUseBlock, problem: string | null | undefined, cut: boolean): Promise<ToolOutcome> {
    const tool = this.tools.get(call.name);
    if (problem) return { content: `That ${call.name} input is not valid: ${problem}. Fix it and call ${call.name} again.`, isError: true };
    if (cut)
      return {
        content: "This tool call was cut off by the output limit, so its input is incomplete: call it again, with less at once.",
        isError: true,
      };
    if (!tool)
      return {
        content: `There is no tool named ${call.name}. The tools are: ${this.definitions.map((d) => d.name).join(", ")}.`,
        isError: true,
      };
    return toolSpan(call, () => tool.run(call.input, this.spec.signal));
  }

  /**
   * Past the context budget, old tool results are elided, at most once every `keepTurns` turns:
   * each prune changes the bytes before the moving breakpoint once, and the prefix then stays
   * cacheable until the next.
   */
  maybePrune(turn: number): void {
    if (this.context <= this.prune.aboveTokens || turn - this.lastPrune < this.prune.keepTurns) return;
    if (elideOldResults(this.messages, this.prune.keepTurns)) this.lastPrune = turn;
  }
}

function withBreakpoint(d: ToolDefinition): ToolDefinition {
  return { ...d, cache_control: { type: "ephemeral" as const } };
}

async function record(spec: AgentSpec, turn: number, call: ToolUseBlock, outcome: ToolOutcome, ms: number) {
  await spec.records.toolCall(
    { runId: spec.context.runId, phase: spec.context.phase, agent: spec.context.agent, turn },
    call,
    { content: outcome.content, isError: outcome.isError },
    ms,
  );
}
