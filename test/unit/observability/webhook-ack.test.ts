/** The webhook acknowledgement histogram: the time from a POST on the webhook path to its answer. */
import { createServer, type Server } from "node:http";
import { jest } from "@jest/globals";
import nock from "nock";
import { createMetrics } from "../../../src/observability/metrics.js";
import { semconv } from "../../../src/observability/semconv.js";
import { timeWebhookAck } from "../../../src/observability/webhook-ack.js";
import { MetricsSource } from "../../../src/stores/metrics-source.js";
import type { Database } from "../../../src/db/database.js";
import { parseScrape } from "../../helpers/prometheus.js";

describe("the webhook acknowledgement time", () => {
  let server: Server;
  let base: string;
  const metrics = createMetrics({
    semconv: semconv(),
    web: { source: new MetricsSource({} as Database), queue: { stats: async () => [] }, operatorCaps: { dailyMicros: 1, runMicros: 1 } },
  });

  /**
   * The clock the acknowledgement is timed by (process.hrtime.bigint), which only the handler moves:
   * what is observed is the time the handler took, exactly. A real 60 ms wait could come out over
   * 100 ms on a busy machine (a late timer), and fall in the next bucket.
   */
  let clockNs = 0n;
  let clock: { mockRestore(): void } | undefined;

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
    clock = jest.spyOn(process.hrtime, "bigint").mockImplementation(() => clockNs);
    // a webhook handler that takes 60 ms to say 200, or 400 to a delivery it refuses
    const handler = timeWebhookAck(
      async (req, res) => {
        if (!req.url?.startsWith("/api/github/webhooks")) return void res.writeHead(404).end();
        await new Promise((resolve) => setImmediate(resolve));
        clockNs += 60_000_000n;
        res.writeHead(req.headers["x-refuse"] ? 400 : 200).end("ok");
        return true;
      },
      "/api/github/webhooks",
      metrics.webhookAck!,
    );
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    clock?.mockRestore();
    await new Promise((resolve) => server.close(resolve));
    nock.enableNetConnect();
  });

  it("observes POSTs to the webhook path by status code, and nothing else", async () => {
    await fetch(`${base}/api/github/webhooks`, { method: "POST", body: "{}" });
    await fetch(`${base}/api/github/webhooks/`, { method: "POST", body: "{}" }); // a trailing slash is the same path
    await fetch(`${base}/api/github/webhooks`, { method: "POST", body: "{}", headers: { "x-refuse": "1" } });
    await fetch(`${base}/api/github/webhooks`); // a GET
    await fetch(`${base}/elsewhere`, { method: "POST", body: "{}" });
    const text = (await metrics.registry.getSingleMetricAsString("tollgate_webhook_ack_seconds")).toString();
    const acks = parseScrape(text).histograms("tollgate_webhook_ack_seconds");
    expect(acks.map((a) => [a.labels.code, a.count])).toEqual([
      ["200", 2],
      ["400", 1],
    ]);
    const ok = acks.find((a) => a.labels.code === "200")!;
    expect(ok.sum).toBeGreaterThanOrEqual(0.12);
    expect(ok.buckets["0.05"]).toBe(0);
    expect(ok.buckets["0.1"]).toBe(2);
  });
});
