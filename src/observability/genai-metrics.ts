/**
 * The OpenTelemetry GenAI client metrics as Prometheus histograms: `gen_ai.client.token.usage`
 * (tokens; Prometheus drops the `{token}` annotation from the name) and
 * `gen_ai.client.operation.duration` (seconds), with the conventions' bucket boundaries and
 * attributes. They are observed in the process that makes the call (src/observability/model-calls.ts).
 */
import { Histogram, type Registry } from "prom-client";
import { GEN_AI, GEN_AI_METRICS, ERROR_TYPE, promName, type Semconv } from "./semconv.js";

/** One model call attempt, as the metrics see it. */
export interface GenAiObservation {
  operation: string;
  provider: string;
  requestModel: string;
  responseModel?: string;
  seconds: number;
  /** Input tokens as the conventions count them (cached ones included); undefined when not reported. */
  inputTokens?: number;
  outputTokens?: number;
  /** Set when the attempt failed. */
  errorType?: string;
}

export class GenAiMetrics {
  readonly #tokens: Histogram<string>;
  readonly #duration: Histogram<string>;
  readonly #provider: string;

  constructor(registry: Registry, conventions: Semconv) {
    // the provider's attribute is `gen_ai.system` up to v1.36.0, `gen_ai.provider.name` in the latest conventions
    this.#provider = promName(conventions.latest ? GEN_AI.providerName : GEN_AI.system);
    const common = [promName(GEN_AI.operationName), this.#provider, promName(GEN_AI.requestModel), promName(GEN_AI.responseModel)];
    this.#tokens = new Histogram({
      name: promName(GEN_AI_METRICS.tokenUsage.name),
      help: "Number of input and output tokens used, per model call (input includes cached tokens).",
      labelNames: [...common, promName(GEN_AI.tokenType)],
      buckets: [...GEN_AI_METRICS.tokenUsage.buckets],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: `${promName(GEN_AI_METRICS.operationDuration.name)}_seconds`,
      help: "GenAI operation duration: each model call attempt, in seconds.",
      labelNames: [...common, promName(ERROR_TYPE)],
      buckets: [...GEN_AI_METRICS.operationDuration.buckets],
      registers: [registry],
    });
  }

  observe(o: GenAiObservation): void {
    const labels: Record<string, string> = {
      [promName(GEN_AI.operationName)]: o.operation,
      [this.#provider]: o.provider,
      [promName(GEN_AI.requestModel)]: o.requestModel,
      ...(o.responseModel ? { [promName(GEN_AI.responseModel)]: o.responseModel } : {}),
    };
    this.#duration.observe(o.errorType ? { ...labels, [promName(ERROR_TYPE)]: o.errorType } : labels, o.seconds);
    const tokenType = promName(GEN_AI.tokenType);
    if (o.inputTokens !== undefined) this.#tokens.observe({ ...labels, [tokenType]: "input" }, o.inputTokens);
    if (o.outputTokens !== undefined) this.#tokens.observe({ ...labels, [tokenType]: "output" }, o.outputTokens);
  }
}
