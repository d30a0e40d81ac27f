/**
 * `/metrics` as a scraper meets it: the registry's text, behind the operator token (401 with
 * `WWW-Authenticate: Bearer` otherwise), refused with what to set when no token is configured,
 * open only with TOLLGATE_METRICS_PUBLIC=1; 503 when the metrics cannot be read; and a worker's
 * own metrics server (TOLLGATE_WORKER_METRICS_PORT).
 */
import nock from "nock";
import { Counter, Registry } from "prom-client";
import { createMetrics } from "../../../src/observability/metrics.js";
import { serveMetrics, type MetricsServer } from "../../../src/observability/metrics-server.js";
import { semconv } from "../../../src/observability/semconv.js";
import { bearerMatches } from "../../../src/server/bearer.js";
import { captureLog } from "../../helpers/log.js";
import { parseScrape } from "../../helpers/prometheus.js";

const TOKEN = "0123456789abcdef0123456789abcdef-operator";

describe("the bearer check", () => {
  it("accepts exactly `Bearer <token>`", () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true); // the scheme is case-insensitive (RFC 9110)
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches("", TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerMatches(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN.slice(1)}`, TOKEN)).toBe(false);
    expect(bearerMatches("Bearer ", "")).toBe(false);
  });
});

describe("a worker's metrics server", () => {
  let server: MetricsServer | undefined;
  const captured = captureLog();
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
  });
  afterAll(() => nock.enableNetConnect());
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("serves the process's GenAI histograms at /metrics, behind the operator token", async () => {
    const metrics = createMetrics({ semconv: semconv() });
    metrics.genAi.observe({
      operation: "chat",
      provider: "anthropic",
      requestModel: "claude-haiku-4-5",
      seconds: 0.3,
      inputTokens: 90,
      outputTokens: 10,
    });
    server = await serveMetrics(metrics, { port: 0, host: "127.0.0.1", token: TOKEN, log: captured.log });
    const url = `http://127.0.0.1:${server.port}`;

    const refused = await fetch(`${url}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="tollgate"');
    expect(await refused.text()).not.toContain("gen_ai");
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer wrong-${TOKEN}` } })).status).toBe(401);

    const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const scrape = parseScrape(await ok.text());
    expect(scrape.histograms("gen_ai_client_token_usage").map((h) => [h.labels.gen_ai_token_type, h.sum])).toEqual([
      ["input", 90],
      ["output", 10],
    ]);
    // a worker's registry has no ledger, runs or webhooks: those are the web process's
    expect([...scrape.types.keys()].filter((name) => name.startsWith("tollgate_"))).toEqual([]);
    expect((await fetch(`${url}/other`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it("is refused to everyone without a token, saying what to set, and the start-up log says so once", async () => {
    const metrics = createMetrics({ semconv: semconv() });
    metrics.genAi.observe({ operation: "chat", provider: "anthropic", requestModel: "claude-haiku-4-5", seconds: 0.3 });
    server = await serveMetrics(metrics, { port: 0, host: "127.0.0.1", log: captured.log });
    for (const authorization of [undefined, "Bearer ", `Bearer ${TOKEN}`]) {
      const refused = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(refused.status).toBe(403);
      const text = await refused.text();
      expect(text).toContain("TOLLGATE_DASHBOARD_TOKEN");
      expect(text).toContain("TOLLGATE_METRICS_PUBLIC=1");
      expect(text).not.toContain("gen_ai");
    }
    const said = captured.lines().filter((l) => String(l.msg).startsWith("/metrics is refused to everyone"));
    expect(said).toHaveLength(1);
    expect(said[0]!.msg).toContain("TOLLGATE_DASHBOARD_TOKEN");
  });

  it("is open to anyone with TOLLGATE_METRICS_PUBLIC=1, and answers 503 when a collector fails", async () => {
    const metrics = createMetrics({ semconv: semconv() });
    server = await serveMetrics(metrics, { port: 0, host: "127.0.0.1", public: true, log: captured.log });
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(200);
    expect(captured.lines().some((l) => String(l.msg).startsWith("/metrics is served to anyone"))).toBe(true);
    await server.close();

    const registry: Registry = metrics.registry;
    new Counter({
      name: "broken_total",
      help: "fails",
      registers: [registry],
      collect() {
        throw new Error("the database is gone");
      },
    });
    server = await serveMetrics(metrics, { port: 0, host: "127.0.0.1", public: true, log: captured.log });
    const answer = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(answer.status).toBe(503);
    expect(await answer.text()).not.toContain("database is gone"); // the reason goes to the log
    expect(captured.lines().some((l) => l.msg === "metrics could not be read")).toBe(true);
  });
});
