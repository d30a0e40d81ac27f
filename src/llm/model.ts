/**
 * The model port: the one narrow interface between Tollgate and a language model. Its shapes
 * follow Anthropic's Messages API (content blocks, tools, usage) without depending on the SDK;
 * phases and agents see only these types.
 */

export interface CacheControl {
  type: "ephemeral";
  ttl?: "5m" | "1h";
}

export interface TextBlock {
  type: "text";
  text: string;
  cache_control?: CacheControl;
}

export interface ToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  input: unknown;
  cache_control?: CacheControl;
}

export interface ToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content: string | TextBlock[];
  is_error?: boolean;
  cache_control?: CacheControl;
}

/** Blocks Tollgate does not interpret (thinking, server tools) pass through untouched. */
export interface OtherBlock {
  type: string;
  cache_control?: CacheControl;
  [key: string]: unknown;
}

export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | OtherBlock;

export interface Message {
  role: "user" | "assistant";
  content: string | ContentBlock[];
}

/** A client tool with a JSON Schema, or an Anthropic-defined tool (e.g. the text editor). */
export type ToolDefinition =
  | { name: string; description?: string; input_schema: Record<string, unknown>; cache_control?: CacheControl }
  | { type: string; name: string; cache_control?: CacheControl; [key: string]: unknown };

export type ToolChoice = { type: "auto" } | { type: "any" } | { type: "none" } | { type: "tool"; name: string };

export interface ModelRequest {
  model: string;
  system?: string | TextBlock[];
  messages: Message[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  maxTokens: number;
  temperature?: number;
  /** Stream the answer (long outputs); the result is the same whole message. */
  stream?: boolean;
}

/**
 * Token counts as the provider reported them. `null` means the provider did not say (an older or
 * compatible endpoint), never an invented 0.
 */
export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  /** All cache writes; the 5-minute / 1-hour split below when known. */
  cacheWriteTokens: number | null;
  cacheWrite5mTokens: number | null;
  cacheWrite1hTokens: number | null;
  cacheReadTokens: number | null;
  /** The provider's usage object as received. */
  raw: unknown;
}

export interface ModelResponse {
  id: string;
  model: string;
  content: ContentBlock[];
  stopReason: string | null;
  usage: Usage;
  requestId: string | null;
  /** Response headers (lower-case names), for the rate limiter. */
  headers: Record<string, string>;
  /** Implausible usage fields that were rejected (set to null), for the log. */
  usageProblems: string[];
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ModelPort {
  readonly provider: string;
  call(request: ModelRequest, options?: CallOptions): Promise<ModelResponse>;
}

export const UNKNOWN_USAGE: Usage = Object.freeze({
  inputTokens: null,
  outputTokens: null,
  cacheWriteTokens: null,
  cacheWrite5mTokens: null,
  cacheWrite1hTokens: null,
  cacheReadTokens: null,
  raw: null,
});

/** An answer that produced no tokens (an HTTP error before any work). */
export const ZERO_USAGE: Usage = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  raw: null,
});
