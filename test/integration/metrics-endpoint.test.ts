/**
 * `/metrics` on the real HTTP server (`tollgate start`'s): behind TOLLGATE_DASHBOARD_TOKEN, with
 * the time the server took to answer each webhook delivery, signed or not, and the database's
 * metrics (the delivery's job waiting in its queue). Without a token it is refused unless the
 * operator opens it (TOLLGATE_METRICS_PUBLIC=1), and it names no repository unless asked
 * (TOLLGATE_METRICS_REPOSITORY_LABELS=1).
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

describe("/metrics on the HTTP server, as someone who can reach the port sees it", () => {
  const SECRET_REPO = "secret-merger-project";
  const captured = captureLog();
  let services: Services | undefined;
  let server: Server | undefined;

  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
  });
  afterEach(async () => {
    await server?.stop();
    await services?.close(1000).catch(() => undefined);
    server = services = undefined;
  });
  afterAll(() => nock.enableNetConnect());

  /** `tollgate start`'s server on this environment, with one paid call of a private repository in the ledger. */
  async function start(extra: Record<string, string>): Promise<string> {
    const env = loadEnv({
      APP_ID: String(APP_ID),
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      ...extra,
    });
    services = await openServices(await freshDatabase("pglite"), captured.log, { maintenance: false });
    const { rows } = await services.db.query<{ id: string }>(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status)
       VALUES (4242, 77, 'acme-corp', $1, 1, 'succeeded') RETURNING id`,
      [SECRET_REPO],
    );
    await services.db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, model, status, latency_ms, input_tokens, cache_write_5m_tokens,
         cache_write_1h_tokens, cache_read_tokens, output_tokens, cost_usd_micros)
       VALUES ($1, 4242, 'plan', 'claude-opus-4-7', 'ok', 100, 1000, 0, 0, 0, 10, 5250)`,
      [rows[0]!.id],
    );
    server = await startServer(env, env.github!, services, captured.log);
    return `http://127.0.0.1:${server.port}/metrics`;
  }

  it("is refused to anyone without a token configured, with the variable to set, and names no repository", async () => {
    const url = await start({});
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer " }, { authorization: `Bearer ${OPERATOR_TOKEN}` }];
    for (const headers of attempts) {
      const answer = await fetch(url, { headers });
      expect(answer.status).toBe(403);
      const body = await answer.text();
      expect(body).toContain("TOLLGATE_DASHBOARD_TOKEN");
      expect(body).not.toContain(SECRET_REPO);
      expect(body).not.toContain("tollgate_");
    }
    expect(captured.lines().filter((l) => String(l.msg).startsWith("/metrics is refused to everyone"))).toHaveLength(1);
  });

  it("answers the operator token, by installation id and without repository names", async () => {
    const url = await start({ TOLLGATE_DASHBOARD_TOKEN: OPERATOR_TOKEN });
    expect((await fetch(url)).status).toBe(401);
    const answer = await fetch(url, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).not.toContain(SECRET_REPO);
    expect(text).not.toContain("acme-corp");
    expect(parseScrape(text).samples("tollgate_cost_usd_total")).toEqual([
      { labels: { phase: "plan", model: "claude-opus-4-7", installation: "4242" }, value: 0.00525 },
    ]);
  });

  it("with TOLLGATE_METRICS_PUBLIC=1, answers anyone, still without repository names", async () => {
    const url = await start({ TOLLGATE_METRICS_PUBLIC: "1" });
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).not.toContain(SECRET_REPO);
    expect(parseScrape(text).samples("tollgate_tokens_total")).toContainEqual({
      labels: { phase: "plan", model: "claude-opus-4-7", installation: "4242", type: "input" },
      value: 1000,
    });
  });

  it("names repositories only when the operator asks (TOLLGATE_METRICS_REPOSITORY_LABELS=1)", async () => {
    const url = await start({ TOLLGATE_DASHBOARD_TOKEN: OPERATOR_TOKEN, TOLLGATE_METRICS_REPOSITORY_LABELS: "1" });
    const answer = await fetch(url, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(parseScrape(await answer.text()).samples("tollgate_cost_usd_total")).toEqual([
      { labels: { phase: "plan", model: "claude-opus-4-7", repository: `acme-corp/${SECRET_REPO}` }, value: 0.00525 },
    ]);
  });
});
