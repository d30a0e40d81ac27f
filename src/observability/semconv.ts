/**
 * The OpenTelemetry semantic-convention names Tollgate emits, and which version of them.
 *
 * Every GenAI convention is still in development. Their transition plan says an instrumentation
 * keeps emitting the version it emitted by default (v1.36.0 or earlier) and emits the latest
 * experimental version, and not the old one, when `OTEL_SEMCONV_STABILITY_OPT_IN` lists
 * `gen_ai_latest_experimental`. So by default Tollgate emits the v1.36.0 names (`gen_ai.system`,
 * no cache-token attributes); with the opt-in, the current ones (`gen_ai.provider.name`, the
 * cache read and cache creation tokens, `gen_ai.request.stream`) and the VCS attributes, which
 * are not stable either. Tollgate's own `tollgate.*` attributes are always there.
 *
 * The names are written out here rather than imported from
 * `@opentelemetry/semantic-conventions/incubating`, whose maintainers ask instrumentations to copy
 * unstable names (they may change in a minor version); a test checks them against that package.
 */

/** The opt-in value the GenAI conventions define for their latest experimental version. */
export const GEN_AI_LATEST_EXPERIMENTAL = "gen_ai_latest_experimental";

export interface Semconv {
  /** Emit the latest experimental GenAI (and VCS) conventions instead of the v1.36.0 ones. */
  latest: boolean;
}

/** The conventions to follow, from OTEL_SEMCONV_STABILITY_OPT_IN (split by the environment loader). */
export function semconv(optIn: readonly string[] = []): Semconv {
  return { latest: optIn.includes(GEN_AI_LATEST_EXPERIMENTAL) };
}

let spansFollow: Semconv = semconv();

/** The conventions this process's spans follow: set with the tracer provider, which is per process too. */
export function conventions(): Semconv {
  return spansFollow;
}

export function followConventions(conventions: Semconv): void {
  spansFollow = conventions;
}

export const GEN_AI = {
  operationName: "gen_ai.operation.name",
  /** v1.36.0 and earlier; replaced by `providerName` in the latest conventions. */
  system: "gen_ai.system",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestTemperature: "gen_ai.request.temperature",
  requestStream: "gen_ai.request.stream",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageCacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens",
  tokenType: "gen_ai.token.type",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  toolType: "gen_ai.tool.type",
} as const;

/** Well-known values. */
export const GEN_AI_OPERATION = { chat: "chat", executeTool: "execute_tool" } as const;

/** Stable: the class of error an operation ended with. */
export const ERROR_TYPE = "error.type";

export const VCS = {
  providerName: "vcs.provider.name",
  ownerName: "vcs.owner.name",
  repositoryName: "vcs.repository.name",
  repositoryUrlFull: "vcs.repository.url.full",
  changeId: "vcs.change.id",
  refHeadName: "vcs.ref.head.name",
} as const;

/** The GenAI client metrics, with the bucket boundaries their conventions give. */
export const GEN_AI_METRICS = {
  tokenUsage: {
    name: "gen_ai.client.token.usage",
    // "This metric SHOULD be specified with ExplicitBucketBoundaries of [1, 4, 16, …, 67108864]"
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  },
  operationDuration: {
    name: "gen_ai.client.operation.duration",
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  },
} as const;

/** An OpenTelemetry name as Prometheus spells it (dots become underscores). */
export const promName = (name: string) => name.replace(/\./g, "_");
