/**
 * `/metrics` on the real HTTP server (`tollgate start`'s): behind TOLLGATE_DASHBOARD_TOKEN, with
 * the time the server took to answer each webhook delivery, signed or not, and the database's
 * metrics (the delivery's job waiting in its queue).
 */
import { createHmac } from "node:crypto";
import nock from "nock";
import type { Server } from "probot";
import { openServices, type Services } from "../../src/app/services.js";
import { startServer } from "../../src/app/server.js";
import { loadEnv } from "../../src/config/env.js";
import { QUEUE } from "../../src/queue/jobs.js";
import { APP_ID, WEBHOOK_SECRET } from "../helpers/app.js";
import { freePort, freshDatabase } from "../helpers/db.js";
import { TEST_PRIVATE_KEY } from "../helpers/keys.js";
import { captureLog } from "../helpers/log.js";
import { parseScrape } from "../helpers/prometheus.js";
import { issuesLabeled } from "../helpers/webhooks.js";

const OPERATOR_TOKEN = "f".repeat(16) + "0123456789abcdef0123456789";

describe("/metrics on the HTTP server", () => {
  let services: Services;
  let server: Server;
  let base: string;
  const captured = captureLog();

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
    const env = loadEnv({
      APP_ID: String(APP_ID),
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      TOLLGATE_DASHBOARD_TOKEN: OPERATOR_TOKEN,
    });
    services = await openServices(await freshDatabase("pglite"), captured.log, { maintenance: false });
    server = await startServer(env, env.github!, services, captured.log);
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.stop();
    await services.close(1000).catch(() => undefined);
    nock.enableNetConnect();
  });

  const deliver = (body: string, id: string, signature?: string) =>
    fetch(`${base}/api/github/webhooks`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": id,
        ...(signature ? { "x-hub-signature-256": signature } : {}),
      },
    });

  it("asks for the operator token", async () => {
    const refused = await fetch(`${base}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: "Bearer not-the-token" } })).status).toBe(401);
  });

  it("times every webhook delivery by the status answered, and reads the queues from the database", async () => {
    const body = JSON.stringify(issuesLabeled("ai-ready"));
    const signed = `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
    expect((await deliver(body, "m-1", signed)).status).toBe(200);
    expect((await deliver(body, "m-2")).status).toBe(400);

    const answer = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(answer.status).toBe(200);
    const scrape = parseScrape(await answer.text());
    const acks = scrape.histograms("tollgate_webhook_ack_seconds");
    expect(acks.map((a) => [a.labels.code, a.count]).sort()).toEqual([
      ["200", 1],
      ["400", 1],
    ]);
    expect(acks.every((a) => a.sum > 0 && a.sum < 10)).toBe(true);
    expect(scrape.samples("tollgate_queue_jobs")).toContainEqual({ labels: { queue: QUEUE.trigger, state: "queued" }, value: 1 });
    expect(scrape.samples("tollgate_runs_active")).toEqual([{ labels: {}, value: 0 }]);
    expect(scrape.types.get("gen_ai_client_operation_duration_seconds")).toBe("HISTOGRAM");
    // no call yet, no installation seen: no budget series
    expect(scrape.samples("tollgate_budget_remaining_usd")).toEqual([]);
  });
});
