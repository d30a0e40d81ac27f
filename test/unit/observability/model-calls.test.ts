/**
 * Each model call attempt as OpenTelemetry's GenAI conventions describe it: the `chat {model}`
 * span's attributes (the v1.36.0 names by default, the latest with
 * OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental), input tokens counted as the
 * conventions count Anthropic's, and the `gen_ai.client.*` histograms with their buckets.
 */
import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { Registry } from "prom-client";
import type { Database } from "../../../src/db/database.js";
import { ZERO_USAGE, type Usage } from "../../../src/llm/model.js";
import { GenAiMetrics } from "../../../src/observability/genai-metrics.js";
import { modelCallAttributes, type ModelAttempt } from "../../../src/observability/model-calls.js";
import { GEN_AI, GEN_AI_METRICS, semconv } from "../../../src/observability/semconv.js";
import { freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";
import { bucketBounds, parseScrape } from "../../helpers/prometheus.js";

const USAGE: Usage = {
  inputTokens: 1_000,
  outputTokens: 250,
  cacheWriteTokens: 300,
  cacheWrite5mTokens: 300,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 4_000,
  raw: { input_tokens: 1_000 },
};

const attempt = (over: Partial<ModelAttempt> = {}): ModelAttempt => ({
  provider: "anthropic",
  context: { runId: "run-1", phase: "execute", agent: "execute/greeting", iteration: 2 },
  tier: "standard",
  attempt: 1,
  request: { model: "claude-sonnet-4-6", maxTokens: 8192, stream: true },
  response: { id: "msg_1", model: "claude-sonnet-4-6-20260101", stopReason: "tool_use" },
  usage: USAGE,
  costMicros: 12_345,
  startedAt: Date.parse("2026-11-28T12:00:00Z"),
  latencyMs: 1_500,
  ...over,
});

describe("a model call's span attributes", () => {
  it("follow v1.36.0 by default: gen_ai.system, no cache attributes; input tokens include the cached ones", () => {
    expect(modelCallAttributes(attempt(), semconv([]))).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.system": "anthropic",
      "gen_ai.request.model": "claude-sonnet-4-6",
      "gen_ai.request.max_tokens": 8192,
      "gen_ai.response.model": "claude-sonnet-4-6-20260101",
      "gen_ai.response.id": "msg_1",
      "gen_ai.response.finish_reasons": ["tool_use"],
      // Anthropic's input_tokens leave out the cache: 1,000 + 4,000 read + 300 written
      "gen_ai.usage.input_tokens": 5_300,
      "gen_ai.usage.output_tokens": 250,
      "tollgate.usage.cache_read_tokens": 4_000,
      "tollgate.usage.cache_write_tokens": 300,
      "tollgate.cost.usd": 0.012345,
      "tollgate.run.id": "run-1",
      "tollgate.phase": "execute",
      "tollgate.round": 2,
      "tollgate.agent": "execute/greeting",
      "tollgate.tier": "standard",
      "tollgate.attempt": 1,
    });
  });

  it("follow the latest conventions with gen_ai_latest_experimental: provider name, cache tokens, stream", () => {
    const attributes = modelCallAttributes(attempt(), semconv(["http", "gen_ai_latest_experimental"]));
    expect(attributes).toMatchObject({
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.stream": true,
      "gen_ai.usage.input_tokens": 5_300,
      "gen_ai.usage.cache_read.input_tokens": 4_000,
      "gen_ai.usage.cache_creation.input_tokens": 300,
    });
    expect(attributes).not.toHaveProperty("gen_ai.system");
  });

  it("say nothing of tokens for an attempt refused before any work, and name its error", () => {
    const failed = attempt({ response: undefined, usage: { ...ZERO_USAGE }, errorKind: "overloaded", costMicros: 0 });
    const attributes = modelCallAttributes(failed, semconv());
    expect(attributes).toMatchObject({ "error.type": "overloaded", "tollgate.cost.usd": 0 });
    expect(attributes).not.toHaveProperty("gen_ai.usage.input_tokens");
    expect(attributes).not.toHaveProperty("gen_ai.response.id");
  });

  it("use the names of @opentelemetry/semantic-conventions", () => {
    expect(GEN_AI).toMatchObject({
      operationName: incubating.ATTR_GEN_AI_OPERATION_NAME,
      system: incubating.ATTR_GEN_AI_SYSTEM,
      providerName: incubating.ATTR_GEN_AI_PROVIDER_NAME,
      requestModel: incubating.ATTR_GEN_AI_REQUEST_MODEL,
      requestMaxTokens: incubating.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
      requestStream: incubating.ATTR_GEN_AI_REQUEST_STREAM,
      responseModel: incubating.ATTR_GEN_AI_RESPONSE_MODEL,
      responseId: incubating.ATTR_GEN_AI_RESPONSE_ID,
      responseFinishReasons: incubating.ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
      usageInputTokens: incubating.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      usageOutputTokens: incubating.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      usageCacheReadInputTokens: incubating.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
      usageCacheCreationInputTokens: incubating.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
      tokenType: incubating.ATTR_GEN_AI_TOKEN_TYPE,
      toolName: incubating.ATTR_GEN_AI_TOOL_NAME,
      toolCallId: incubating.ATTR_GEN_AI_TOOL_CALL_ID,
      toolType: incubating.ATTR_GEN_AI_TOOL_TYPE,
    });
    expect(GEN_AI_METRICS.tokenUsage.name).toBe(incubating.METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
    expect(GEN_AI_METRICS.operationDuration.name).toBe(incubating.METRIC_GEN_AI_CLIENT_OPERATION_DURATION);
  });
});

describe("the metered model's telemetry", () => {
  let db: Database;
  const captured = captureLog();
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(async () => {
    db = await freshDatabase("pglite");
    provider.register();
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    await db.close();
  });

  it("observes each attempt: a span under the caller's, the duration with the error type, tokens once answered", async () => {
    const registry = new Registry();
    const genAi = new GenAiMetrics(registry, semconv());
    const overloaded = { error: { status: 529, type: "overloaded_error", message: "Overloaded" } };
    const usage = { input_tokens: 1_200, output_tokens: 300, cache_read_input_tokens: 800, cache_creation_input_tokens: 100 };
    const { model } = meteredSetup(db, captured.log, [overloaded, { text: "ok", usage }], { telemetry: { genAi } });
    const runId = await insertRun(db);
    await trace
      .getTracer("test")
      .startActiveSpan("phase gate", (phase) =>
        model
          .call({ context: { runId, phase: "gate" }, request: { messages: [{ role: "user", content: "hi" }], maxTokens: 1000 } })
          .finally(() => phase.end()),
      );

    const spans = exporter.getFinishedSpans();
    const parent = spans.find((s) => s.name === "phase gate")!;
    const chats = spans.filter((s) => s.name === "chat claude-opus-4-7");
    expect(chats).toHaveLength(2);
    for (const chat of chats) expect(chat.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(chats[0]!.attributes).toMatchObject({ "error.type": "overloaded", "tollgate.attempt": 1 });
    expect(chats[1]!.attributes).toMatchObject({
      "gen_ai.usage.input_tokens": 2_100,
      "gen_ai.usage.output_tokens": 300,
      "tollgate.attempt": 2,
    });
    expect(chats[1]!.attributes["tollgate.cost.usd"]).toBeGreaterThan(0);

    const scrape = parseScrape(await registry.metrics());
    const durations = scrape.histograms("gen_ai_client_operation_duration_seconds");
    expect(durations.map((d) => `${d.labels.error_type ?? "answered"}: ${d.count}`).sort()).toEqual(["answered: 1", "overloaded: 1"]);
    expect(bucketBounds(durations[0]!)).toEqual([...GEN_AI_METRICS.operationDuration.buckets, Infinity]);
    const tokens = scrape.histograms("gen_ai_client_token_usage");
    expect(tokens.map((t) => [t.labels, t.sum])).toEqual([
      [
        {
          gen_ai_operation_name: "chat",
          gen_ai_system: "anthropic",
          gen_ai_request_model: "claude-opus-4-7",
          gen_ai_response_model: "claude-opus-4-7",
          gen_ai_token_type: "input",
        },
        2_100,
      ],
      [
        {
          gen_ai_operation_name: "chat",
          gen_ai_system: "anthropic",
          gen_ai_request_model: "claude-opus-4-7",
          gen_ai_response_model: "claude-opus-4-7",
          gen_ai_token_type: "output",
        },
        300,
      ],
    ]);
    expect(bucketBounds(tokens[0]!)).toEqual([...GEN_AI_METRICS.tokenUsage.buckets, Infinity]);
  });

  it("labels the provider gen_ai_provider_name under the latest conventions", async () => {
    const registry = new Registry();
    new GenAiMetrics(registry, semconv(["gen_ai_latest_experimental"])).observe({
      operation: "chat",
      provider: "anthropic",
      requestModel: "m",
      seconds: 0.5,
      inputTokens: 10,
    });
    const [sample] = parseScrape(await registry.metrics()).histograms("gen_ai_client_token_usage");
    expect(sample!.labels).toEqual({
      gen_ai_operation_name: "chat",
      gen_ai_provider_name: "anthropic",
      gen_ai_request_model: "m",
      gen_ai_token_type: "input",
    });
  });
});
