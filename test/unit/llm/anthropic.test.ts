/** The real adapter against Anthropic's API shapes, with nock (network disabled). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { AnthropicModel } from "../../../src/llm/anthropic.js";
import { ModelCallError } from "../../../src/llm/errors.js";

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/llm/${name}`, import.meta.url)), "utf8");
const API = "https://api.anthropic.com";
const KEY = "test-anthropic-key";
const rateLimitHeaders = {
  "request-id": "req_011CSHoEeqs5C35K2UUqR7Fa",
  "anthropic-ratelimit-requests-limit": "50",
  "anthropic-ratelimit-requests-remaining": "49",
  "anthropic-ratelimit-requests-reset": "2026-11-28T12:00:30Z",
  "anthropic-ratelimit-input-tokens-limit": "30000",
  "anthropic-ratelimit-input-tokens-remaining": "23000",
  "anthropic-ratelimit-input-tokens-reset": "2026-11-28T12:00:14Z",
};

const request = {
  model: "claude-opus-4-7",
  system: [{ type: "text" as const, text: "You judge tickets.", cache_control: { type: "ephemeral" as const } }],
  messages: [{ role: "user" as const, content: "Issue #3: add a flag" }],
  tools: [
    {
      name: "submit_verdict",
      description: "Submit the verdict",
      input_schema: { type: "object", properties: { ready: { type: "boolean" } } },
    },
  ],
  toolChoice: { type: "tool" as const, name: "submit_verdict" },
  maxTokens: 2_048,
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe("Anthropic adapter", () => {
  it("sends a Messages API request and returns content, usage, request id and rate-limit headers", async () => {
    let body: Record<string, unknown> = {};
    let headers: Record<string, unknown> = {};
    const scope = nock(API)
      .post("/v1/messages", (b) => ((body = b), true))
      .reply(function () {
        headers = this.req.headers;
        return [200, fixture("message-tool-use.json"), { "content-type": "application/json", ...rateLimitHeaders }];
      });
    const response = await new AnthropicModel({ apiKey: KEY }).call(request);
    expect(scope.isDone()).toBe(true);
    expect(headers).toMatchObject({ authorization: `Bearer ${KEY}`, "anthropic-version": expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(body).toEqual({
      model: "claude-opus-4-7",
      max_tokens: 2_048,
      system: request.system,
      messages: request.messages,
      tools: request.tools,
      tool_choice: { type: "tool", name: "submit_verdict" },
      stream: false,
    });
    expect(response).toMatchObject({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      stopReason: "tool_use",
      requestId: "req_011CSHoEeqs5C35K2UUqR7Fa",
      usage: {
        inputTokens: 2_095,
        outputTokens: 503,
        cacheWriteTokens: 4_310,
        cacheWrite5mTokens: 4_310,
        cacheWrite1hTokens: 0,
        cacheReadTokens: 0,
      },
      usageProblems: [],
    });
    expect(response.content[1]).toEqual({
      type: "tool_use",
      id: "toolu_01A09q90qw90lq917835lq9",
      name: "submit_verdict",
      input: { ready: true, score: 82 },
    });
    expect(response.headers["anthropic-ratelimit-input-tokens-remaining"]).toBe("23000");
  });

  it("uses ANTHROPIC_BASE_URL, so any Anthropic-compatible endpoint works", async () => {
    const scope = nock("http://gateway.internal:8080")
      .post("/anthropic/v1/messages")
      .reply(200, fixture("message-tool-use.json"), { "content-type": "application/json" });
    const response = await new AnthropicModel({ apiKey: KEY, baseUrl: "http://gateway.internal:8080/anthropic" }).call(request);
    expect(scope.isDone()).toBe(true);
    expect(response.requestId).toBeNull(); // the gateway sent none: unknown, not invented
  });

  it("streams: the whole message, with the cumulative usage of the final message_delta", async () => {
    const scope = nock(API)
      .post("/v1/messages", (b) => b.stream === true)
      .reply(200, fixture("stream-text.sse"), { "content-type": "text/event-stream", ...rateLimitHeaders });
    const response = await new AnthropicModel({ apiKey: KEY }).call({ ...request, model: "claude-sonnet-4-6", stream: true });
    expect(scope.isDone()).toBe(true);
    expect(response.content).toEqual([{ type: "text", text: "Tests fail in src/cli.ts:42." }]);
    expect(response.usage).toMatchObject({ inputTokens: 472, outputTokens: 37, cacheReadTokens: 8_192 });
    expect(response.requestId).toBe("req_011CSHoEeqs5C35K2UUqR7Fa");
  });

  it("reports an error event inside a stream as a stream error, with the usage billed so far", async () => {
    nock(API)
      .post("/v1/messages")
      .reply(200, fixture("stream-overloaded.sse"), { "content-type": "text/event-stream", "request-id": "req_stream" });
    const error = await new AnthropicModel({ apiKey: KEY }).call({ ...request, stream: true }).catch((e) => e);
    expect(error).toBeInstanceOf(ModelCallError);
    expect(["overloaded", "stream"]).toContain(error.kind);
    expect(error.details.usage).toMatchObject({ inputTokens: 3_050 });
  });

  it.each([
    [429, "error-rate-limit.json", { "retry-after": "17" }, "rate_limit", 17_000],
    [429, "error-spend-limit.json", { "retry-after": "3600" }, "spend_limit", 3_600_000],
    [529, "error-overloaded.json", {}, "overloaded", undefined],
  ])("classifies HTTP %i (%s)", async (status, file, headers, kind, retryAfterMs) => {
    nock(API)
      .post("/v1/messages")
      .reply(status, fixture(file), { "content-type": "application/json", "request-id": "req_err", ...headers });
    const error = await new AnthropicModel({ apiKey: KEY }).call(request).catch((e) => e);
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error.kind).toBe(kind);
    expect(error.details.status).toBe(status);
    expect(error.details.retryAfterMs).toBe(retryAfterMs);
    expect(error.details.requestId).toBe("req_err");
  });

  it("makes exactly one attempt: retries belong to the metered client", async () => {
    const scope = nock(API).post("/v1/messages").reply(529, fixture("error-overloaded.json"), { "content-type": "application/json" });
    await expect(new AnthropicModel({ apiKey: KEY }).call(request)).rejects.toBeInstanceOf(ModelCallError);
    expect(scope.isDone()).toBe(true);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("says so when a 200's body is not JSON", async () => {
    nock(API).post("/v1/messages").reply(200, "<html><body>Bad gateway</body></html>", { "content-type": "application/json" });
    const error = await new AnthropicModel({ apiKey: KEY }).call(request).catch((e) => e);
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error.kind).toBe("invalid_response");
  });

  it("keeps a response whose usage is missing as unknown", async () => {
    const message = JSON.parse(fixture("message-tool-use.json"));
    delete message.usage;
    nock(API).post("/v1/messages").reply(200, message);
    const response = await new AnthropicModel({ apiKey: KEY }).call(request);
    expect(response.usage).toMatchObject({ inputTokens: null, outputTokens: null, raw: null });
  });
});
