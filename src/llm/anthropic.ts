/**
 * The model port on Anthropic's SDK. The SDK's own retries are off (maxRetries 0): the metered
 * client decides about retries, so that every attempt is metered and waits stay inside the
 * run's deadline. Works with any Anthropic-compatible endpoint through `baseUrl`.
 */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import { ModelCallError, type ModelErrorKind } from "./errors.js";
import type { CallOptions, ContentBlock, ModelPort, ModelRequest, ModelResponse, Usage } from "./model.js";
import { normalizeUsage } from "./usage.js";

export interface AnthropicOptions {
  apiKey: string;
  baseUrl?: string;
  /** Per attempt; the default is the SDK's 10 minutes. */
  timeoutMs?: number;
  /** For tests that want their own fetch; nock intercepts the default one. */
  fetch?: typeof fetch;
}

export class AnthropicModel implements ModelPort {
  readonly provider = "anthropic";
  readonly #client: Anthropic;

  constructor(options: AnthropicOptions) {
    this.#client = new Anthropic({
      apiKey: options.apiKey,
      authToken: null,
      baseURL: options.baseUrl ?? null,
      maxRetries: 0,
      timeout: options.timeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      logLevel: "off",
    });
  }

  async call(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    const params = toParams(request);
    const started = {
      partial: undefined as Anthropic.Message | undefined,
      headers: {} as Record<string, string>,
      requestId: null as string | null,
    };
    try {
      if (request.stream) {
        const stream = this.#client.messages.stream(params, { signal: options.signal });
        stream.on("connect", () => {
          started.headers = headersOf(stream.response?.headers);
          started.requestId = stream.request_id ?? null;
        });
        try {
          const message = await stream.finalMessage();
          return this.#response(message, headersOf(stream.response?.headers), stream.request_id ?? null);
        } catch (error) {
          started.partial = stream.currentMessage;
          started.headers = headersOf(stream.response?.headers);
          started.requestId = stream.request_id ?? null;
          throw error;
        }
      }
      const { data, response, request_id } = await this.#client.messages
        .create({ ...params, stream: false }, { signal: options.signal })
        .withResponse();
      return this.#response(data, headersOf(response.headers), request_id ?? null);
    } catch (error) {
      throw toModelError(error, started.partial ? normalizeUsage(started.partial.usage).usage : undefined, started);
    }
  }

  #response(message: Anthropic.Message, headers: Record<string, string>, requestId: string | null): ModelResponse {
    if (!message || typeof message !== "object" || !Array.isArray(message.content)) {
      throw new ModelCallError("invalid_response", "the model's answer is not a Messages API response", { requestId, headers });
    }
    const { usage, problems } = normalizeUsage(message.usage);
    return {
      usageProblems: problems,
      id: message.id,
      model: message.model,
      content: message.content as unknown as ContentBlock[],
      stopReason: message.stop_reason ?? null,
      usage,
      requestId: requestId ?? headers["request-id"] ?? null,
      headers,
    };
  }
}

function toParams(request: ModelRequest): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    messages: request.messages as Anthropic.MessageParam[],
    ...(request.system !== undefined ? { system: request.system as Anthropic.MessageCreateParams["system"] } : {}),
    ...(request.tools ? { tools: request.tools as Anthropic.ToolUnion[] } : {}),
    ...(request.toolChoice ? { tool_choice: request.toolChoice as Anthropic.ToolChoice } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
  };
}

function headersOf(headers: Headers | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, key) => {
    out[key.toLowerCase()] = value;
  });
  return out;
}

/** Spend caps answer 429 (or 400) with these words; retrying them only burns time. */
const SPEND_LIMIT = /spend limit|spending limit|usage limits?|credit balance/i;

export function toModelError(
  error: unknown,
  usage: Usage | undefined,
  context: { headers: Record<string, string>; requestId: string | null },
): ModelCallError {
  if (error instanceof ModelCallError) return error;
  if (error instanceof APIUserAbortError) return new ModelCallError("aborted", "the call was cancelled", { cause: error, usage });
  if (error instanceof APIConnectionTimeoutError)
    return new ModelCallError("timeout", "the model did not answer in time", { cause: error, usage });
  if (error instanceof APIConnectionError) {
    return new ModelCallError("connection", `could not reach the model API: ${error.message}`, { cause: error, usage });
  }
  if (error instanceof APIError) {
    const headers = { ...context.headers, ...headersOf(error.headers) };
    const requestId = error.requestID ?? context.requestId ?? headers["request-id"] ?? null;
    const body = error.error as { error?: { type?: string; message?: string } } | undefined;
    const apiMessage = body?.error?.message ?? error.message;
    const apiType = body?.error?.type;
    const status = error.status;
    let kind: ModelErrorKind;
    if (status === undefined) kind = apiType === "overloaded_error" ? "overloaded" : "stream";
    else if ((status === 429 || status === 400) && SPEND_LIMIT.test(apiMessage)) kind = "spend_limit";
    else if (status === 429) kind = "rate_limit";
    else if (status === 529 || apiType === "overloaded_error") kind = "overloaded";
    else if (status === 401) kind = "auth";
    else if (status === 403) kind = "permission";
    else if (status === 404) kind = "not_found";
    else if (status === 408) kind = "timeout";
    else if (status >= 500) kind = "server";
    else kind = "bad_request";
    return new ModelCallError(kind, `${status ?? "stream"} ${apiType ?? "error"}: ${apiMessage}`, {
      status,
      retryAfterMs: retryAfterMs(headers),
      requestId,
      headers,
      usage,
      cause: error,
    });
  }
  // By name, not instanceof: a JSON.parse error may come from another realm.
  const named = error as { name?: unknown; message?: unknown } | null;
  if (named?.name === "SyntaxError") {
    return new ModelCallError("invalid_response", `the model API answered with something that is not JSON: ${String(named.message)}`, {
      cause: error,
      usage,
      ...context,
    });
  }
  const message = typeof named?.message === "string" ? named.message : String(error);
  return new ModelCallError("stream", `the answer was cut off: ${message}`, { cause: error, usage, ...context });
}

/** `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const ms = Number(headers["retry-after-ms"]);
  if (Number.isFinite(ms) && ms >= 0 && headers["retry-after-ms"] !== undefined) return ms;
  const value = headers["retry-after"];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
