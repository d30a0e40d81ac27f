/**
 * A model that plays a script: the test double of the model port (and a way to run the
 * pipeline without an API key). Each step answers one call: a text or tool_use message with
 * realistic `usage`, an HTTP error with the headers the real API sends (429 with retry-after,
 * 529 overloaded, a spend limit), a stream cut mid-way, or a 200 whose body is not JSON. Errors
 * go through the real adapter's classifier, so retries behave as they would against the API.
 * Every request is recorded.
 */
import { APIError } from "@anthropic-ai/sdk";
import { toModelError } from "./anthropic.js";
import { ModelCallError } from "./errors.js";
import type { CallOptions, ContentBlock, ModelPort, ModelRequest, ModelResponse } from "./model.js";
import { normalizeUsage } from "./usage.js";
import { approxTokens as textTokens } from "./tokens.js";

export interface RawUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number } | null;
  service_tier?: string;
  [key: string]: unknown;
}

export type ScriptStep =
  | {
      /** A text answer, a tool call, or both (text first). */
      text?: string;
      toolUse?: { name: string; input: unknown; id?: string };
      content?: ContentBlock[];
      stopReason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "refusal";
      /** Replaces the realistic usage computed from the request; `null` means the field is absent. */
      usage?: RawUsage | null;
      headers?: Record<string, string>;
      /** Simulated time the answer takes, in ms. */
      latencyMs?: number;
    }
  | { error: { status: number; type: string; message: string; headers?: Record<string, string> } }
  | { cutStream: { usage: RawUsage; message?: string } }
  | { invalidJson: true };

let counter = 0;
const nextId = (prefix: string) => `${prefix}_scripted${String(++counter).padStart(6, "0")}`;

/** The scripted usage of a request part, sized like the real tokenizer would. */
export function approxTokens(value: unknown): number {
  return Math.max(1, textTokens(JSON.stringify(value ?? "")));
}

export class ScriptedModel implements ModelPort {
  readonly provider = "anthropic";
  readonly requests: ModelRequest[] = [];
  readonly #steps: ScriptStep[];

  constructor(steps: ScriptStep[]) {
    this.#steps = [...steps];
  }

  get remaining(): number {
    return this.#steps.length;
  }

  async call(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    this.requests.push(structuredClone(request));
    if (options.signal?.aborted) throw new ModelCallError("aborted", "the call was cancelled");
    const step = this.#steps.shift();
    if (!step) throw new ModelCallError("bad_request", `the script has no step left for call ${this.requests.length} (${request.model})`);
    const requestId = nextId("req");
    const headers = { "request-id": requestId, "content-type": "application/json" };

    if ("error" in step) {
      const allHeaders = new Headers({ ...headers, ...step.error.headers });
      const body = { type: "error", error: { type: step.error.type, message: step.error.message }, request_id: requestId };
      throw toModelError(APIError.generate(step.error.status, body, undefined, allHeaders), undefined, { headers: {}, requestId });
    }
    if ("invalidJson" in step) {
      throw toModelError(new SyntaxError("Unexpected token '<', \"<html><bod\"... is not valid JSON"), undefined, { headers, requestId });
    }
    if ("cutStream" in step) {
      const { usage } = normalizeUsage(step.cutStream.usage);
      throw toModelError(new Error(step.cutStream.message ?? "stream ended before message_stop"), usage, { headers, requestId });
    }

    if (step.latencyMs) {
      // like a real call in flight, a slow answer is cut short by the signal
      const signal = options.signal;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, step.latencyMs);
        signal?.addEventListener("abort", () => (clearTimeout(timer), reject(new ModelCallError("aborted", "the call was cancelled"))), {
          once: true,
        });
      });
    }
    const content: ContentBlock[] = step.content ?? [
      ...(step.text !== undefined ? [{ type: "text" as const, text: step.text }] : []),
      ...(step.toolUse
        ? [{ type: "tool_use" as const, id: step.toolUse.id ?? nextId("toolu"), name: step.toolUse.name, input: step.toolUse.input }]
        : []),
    ];
    const raw = step.usage === null ? undefined : (step.usage ?? realisticUsage(request, content));
    const { usage, problems } = normalizeUsage(raw);
    return {
      id: nextId("msg"),
      model: request.model,
      content,
      stopReason: step.stopReason ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn"),
      usage,
      usageProblems: problems,
      requestId,
      headers: { ...headers, ...step.headers },
    };
  }
}

/**
 * Usage as the API would report it for this request: the cached prefix read from the cache
 * when the request marks one (as on every turn after the first), the rest as input.
 */
function realisticUsage(request: ModelRequest, content: ContentBlock[]): RawUsage {
  const total = approxTokens([request.system, request.tools, request.messages]);
  const marked = Array.isArray(request.system) && request.system.some((b) => b.cache_control);
  const cached = marked ? approxTokens([request.system, request.tools]) : 0;
  return {
    input_tokens: total - cached,
    output_tokens: approxTokens(content),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    service_tier: "standard",
  };
}

/**
 * Which agent a request comes from, read from the request itself: the one answer tool of a
 * structured call (`gate`, `review`, `triage`), the planner's `submit_plan`, or the work unit an
 * execution agent was given (`execute/<unit id>`).
 */
export function agentRoute(request: ModelRequest): string {
  // a structured call offers exactly one answer tool (submit_verdict, submit_review, submit_triage)
  const forced = request.toolChoice && "name" in request.toolChoice ? request.toolChoice.name : undefined;
  // (an agent's last turn offers only its finish tool, submit_plan or finish_unit: it stays the agent's)
  const only = request.tools?.length === 1 ? request.tools[0]!.name : undefined;
  const answer = forced ?? (only && only !== "submit_plan" && only !== "finish_unit" ? only : undefined);
  if (answer) return answer.replace(/^submit_/, "").replace(/^verdict$/, "gate");
  if (request.tools?.some((t) => t.name === "submit_plan")) return "plan";
  const first = request.messages[0];
  const text = typeof first?.content === "string" ? first.content : (first?.content.map((b) => ("text" in b ? b.text : "")).join("") ?? "");
  const unit = /<work_unit id="([^"]+)">/.exec(text);
  return unit ? `execute/${unit[1]}` : "unknown";
}

/**
 * A scripted model per agent: calls made concurrently by several agents (parallel execution
 * units) each take the next step of their own script, whatever order they arrive in.
 */
export class RoutedScriptedModel implements ModelPort {
  readonly provider = "anthropic";
  readonly requests: Array<{ route: string; request: ModelRequest }> = [];
  readonly #scripts = new Map<string, ScriptedModel>();

  constructor(
    scripts: Record<string, ScriptStep[]>,
    private readonly routeOf: (request: ModelRequest) => string = agentRoute,
  ) {
    for (const [route, steps] of Object.entries(scripts)) this.#scripts.set(route, new ScriptedModel(steps));
  }

  /** Steps not played yet, per route. */
  get remaining(): Record<string, number> {
    return Object.fromEntries([...this.#scripts].map(([route, model]) => [route, model.remaining]));
  }

  async call(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    const route = this.routeOf(request);
    this.requests.push({ route, request: structuredClone(request) });
    const script = this.#scripts.get(route);
    if (!script) throw new ModelCallError("bad_request", `the script has no part for ${route}`);
    return script.call(request, options);
  }
}
