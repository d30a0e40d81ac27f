import nock from "nock";
import { meteredModel, MissingApiKeyError, modelServices } from "../../../src/app/model.js";
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { freshDatabase } from "../../helpers/db.js";
import { captureLog } from "../../helpers/log.js";

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

describe("model services from the environment", () => {
  it("calls ANTHROPIC_BASE_URL with ANTHROPIC_API_KEY, meters the call and prices it with the operator's prices", async () => {
    const db = await freshDatabase("pglite");
    const scope = nock("http://llm-gateway.test", { reqheaders: { authorization: "Bearer test-anthropic-key" } })
      .post("/v1/messages", (body) => body.model === "gateway-model")
      .reply(200, {
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "gateway-model",
        content: [{ type: "text", text: "ok" }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 1_000, output_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    const services = modelServices(
      {
        anthropic: { apiKey: "test-anthropic-key", baseUrl: "http://llm-gateway.test" },
        prices: [
          { model: "gateway-model", effective: "2026-01-01", input: 2, output: 4, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 },
        ],
      },
      db,
    );
    const model = meteredModel(services, parseRepoConfig({ tiers: { light: "gateway-model" } }), captureLog().log);
    const response = await model.call({
      context: { phase: "verify" },
      request: { messages: [{ role: "user", content: "x" }], maxTokens: 100 },
    });
    expect(scope.isDone()).toBe(true);
    expect(response.costMicros).toBe(1_000 * 2 + 100 * 4);
    expect((await db.query("SELECT count(*)::int AS n FROM llm_calls")).rows[0]).toEqual({ n: 1 });
    await db.close();
  });

  it("says that ANTHROPIC_API_KEY is missing", async () => {
    const db = await freshDatabase("pglite");
    expect(() => modelServices({ anthropic: {}, prices: [] }, db)).toThrow(MissingApiKeyError);
    await db.close();
  });
});
