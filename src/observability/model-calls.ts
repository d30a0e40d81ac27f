/**
 * Each model call attempt, as OpenTelemetry's GenAI conventions describe it: a `chat {model}`
 * span under the current phase or agent, and the `gen_ai.client.*` histograms of the process
 * that made the call. The metered model (src/llm/metered-model.ts) reports each attempt once it
 * has ended and its ledger row is written; nothing here may fail a call.
 */
import { SpanKind, SpanStatusCode, type Attributes } from "@opentelemetry/api";
import type { Usage } from "../llm/model.js";
import type { GenAiMetrics } from "./genai-metrics.js";
import { conventions, ERROR_TYPE, GEN_AI, GEN_AI_OPERATION, type Semconv } from "./semconv.js";
import { tracer } from "./spans.js";

/** What a process's model calls report to: its GenAI histograms (spans go to the global tracer). */
export interface ModelTelemetry {
  genAi?: GenAiMetrics;
}

export interface ModelAttempt {
  /** The model port's provider (`anthropic`). */
  provider: string;
  context: { runId?: string; phase: string; agent?: string; iteration?: number };
  tier: string;
  attempt: number;
  request: { model: string; maxTokens: number; temperature?: number; stream?: boolean };
  /** The answer; absent when the attempt failed. */
  response?: { id: string; model: string; stopReason: string | null };
  usage: Usage;
  costMicros: number | null;
  /** Epoch ms when the attempt was sent, and how long it took. */
  startedAt: number;
  latencyMs: number;
  /** The failure's kind (ModelCallError.kind: overloaded, rate_limit, …). */
  errorKind?: string;
}

/**
 * Input tokens as the conventions count them: Anthropic's `input_tokens` leaves out the cached
 * ones, and "gen_ai.usage.input_tokens = input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens". Undefined when the provider did not report them, or when the
 * attempt failed before any work (its zero usage is not a report).
 */
export function tokenCounts(a: Pick<ModelAttempt, "usage" | "response">): { input?: number; output?: number } {
  const u = a.usage;
  const reported = a.response !== undefined || u.raw !== null;
  if (!reported) return {};
  return {
    ...(u.inputTokens !== null ? { input: u.inputTokens + (u.cacheReadTokens ?? 0) + (u.cacheWriteTokens ?? 0) } : {}),
    ...(u.outputTokens !== null ? { output: u.outputTokens } : {}),
  };
}

/** The span's attributes, for the conventions in force (pure, for the tests). */
export function modelCallAttributes(a: ModelAttempt, semconv: Semconv): Attributes {
  const { input, output } = tokenCounts(a);
  const u = a.usage;
  const known = (n: number | null, name: string) => (n !== null ? { [name]: n } : {});
  return {
    [GEN_AI.operationName]: GEN_AI_OPERATION.chat,
    [semconv.latest ? GEN_AI.providerName : GEN_AI.system]: a.provider,
    [GEN_AI.requestModel]: a.request.model,
    [GEN_AI.requestMaxTokens]: a.request.maxTokens,
    ...(a.request.temperature !== undefined ? { [GEN_AI.requestTemperature]: a.request.temperature } : {}),
    ...(semconv.latest && a.request.stream ? { [GEN_AI.requestStream]: true } : {}),
    ...(a.response
      ? {
          [GEN_AI.responseModel]: a.response.model,
          [GEN_AI.responseId]: a.response.id,
          ...(a.response.stopReason ? { [GEN_AI.responseFinishReasons]: [a.response.stopReason] } : {}),
        }
      : {}),
    ...(input !== undefined ? { [GEN_AI.usageInputTokens]: input } : {}),
    ...(output !== undefined ? { [GEN_AI.usageOutputTokens]: output } : {}),
    // the cache attributes are newer than v1.36.0: only with the opt-in; Tollgate's own always
    ...(semconv.latest && input !== undefined
      ? {
          ...known(u.cacheReadTokens, GEN_AI.usageCacheReadInputTokens),
          ...known(u.cacheWriteTokens, GEN_AI.usageCacheCreationInputTokens),
        }
      : {}),
    ...known(u.cacheReadTokens, "tollgate.usage.cache_read_tokens"),
    ...known(u.cacheWriteTokens, "tollgate.usage.cache_write_tokens"),
    ...(a.costMicros !== null ? { "tollgate.cost.usd": a.costMicros / 1e6 } : {}),
    ...(a.errorKind ? { [ERROR_TYPE]: a.errorKind } : {}),
    ...(a.context.runId ? { "tollgate.run.id": a.context.runId } : {}),
    "tollgate.phase": a.context.phase,
    "tollgate.round": a.context.iteration ?? 0,
    ...(a.context.agent ? { "tollgate.agent": a.context.agent } : {}),
    "tollgate.tier": a.tier,
    "tollgate.attempt": a.attempt,
  };
}

/** Reports one attempt: its span (in the current context) and the GenAI histograms. */
export function observeModelAttempt(telemetry: ModelTelemetry | undefined, a: ModelAttempt): void {
  try {
    const { input, output } = tokenCounts(a);
    telemetry?.genAi?.observe({
      operation: GEN_AI_OPERATION.chat,
      provider: a.provider,
      requestModel: a.request.model,
      responseModel: a.response?.model,
      seconds: a.latencyMs / 1000,
      inputTokens: input,
      outputTokens: output,
      errorType: a.errorKind,
    });
    // The span is written once the attempt is over, with its real start and end: what sampling
    // looks at (operation, model) is there when it starts, the rest only if it is recorded.
    const start = { [GEN_AI.operationName]: GEN_AI_OPERATION.chat, [GEN_AI.requestModel]: a.request.model };
    const span = tracer().startSpan(`${GEN_AI_OPERATION.chat} ${a.request.model}`, {
      kind: SpanKind.CLIENT,
      startTime: a.startedAt,
      attributes: start,
    });
    if (span.isRecording()) {
      span.setAttributes(modelCallAttributes(a, conventions()));
      if (a.errorKind) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(a.startedAt + a.latencyMs);
  } catch {
    // telemetry is never a reason for a model call to fail
  }
}
