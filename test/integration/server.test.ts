import { createHmac } from "node:crypto";
import nock from "nock";
import type { Server } from "probot";
import { openServices, type Services } from "../../src/app/services.js";
import { startServer } from "../../src/app/server.js";
import { loadEnv } from "../../src/config/env.js";
import { IntakePressure } from "../../src/queue/intake.js";
import { QUEUE } from "../../src/queue/jobs.js";
import { APP_ID, WEBHOOK_SECRET } from "../helpers/app.js";
import { freePort, freshDatabase } from "../helpers/db.js";
import { TEST_PRIVATE_KEY } from "../helpers/keys.js";
import { captureLog } from "../helpers/log.js";
import { issuesLabeled } from "../helpers/webhooks.js";

const sign = (body: string, secret = WEBHOOK_SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

describe("the HTTP server", () => {
  let services: Services;
  let server: Server;
  let base: string;
  const captured = captureLog();
  const intake = new IntakePressure();

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
    const env = loadEnv({
      APP_ID: String(APP_ID),
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    });
    services = await openServices(await freshDatabase("pglite"), captured.log, { maintenance: false, intake });
    server = await startServer(env, env.github!, services, captured.log);
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.stop();
    await services.close(1000).catch(() => undefined);
    nock.enableNetConnect();
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${base}/api/github/webhooks`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "x-github-event": "issues", ...headers },
    });
  const deliveries = async () => (await services.db.query<{ id: string }>("SELECT id FROM deliveries ORDER BY id")).rows.map((r) => r.id);
  const jobs = async () =>
    (await services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1", [QUEUE.trigger])).rows[0]!.n;

  it("answers 400 to a bad or missing signature and enqueues nothing", async () => {
    const body = JSON.stringify(issuesLabeled("ai-ready"));
    const forged = await post(body, { "x-github-delivery": "forged", "x-hub-signature-256": sign(body, "not-the-secret") });
    const unsigned = await post(body, { "x-github-delivery": "unsigned" });
    expect([forged.status, unsigned.status]).toEqual([400, 400]);
    expect(await deliveries()).toEqual([]);
    expect(await jobs()).toBe(0);
    // counted as load all the same: the workers make way for a flood of forgeries too
    expect(intake.stats().deliveries).toBe(2);
  });

  it("answers 200 to a signed delivery, having recorded and enqueued it", async () => {
    const body = JSON.stringify(issuesLabeled("ai-ready"));
    const response = await post(body, { "x-github-delivery": "signed-1", "x-hub-signature-256": sign(body) });
    expect(response.status).toBe(200);
    expect(await deliveries()).toEqual(["signed-1"]);
    expect(await jobs()).toBe(1);
    expect(intake.stats().deliveries).toBe(3);
    await fetch(`${base}/health`);
    expect(intake.stats().deliveries).toBe(3); // only the webhook path counts
  });

  it("reports database and queue status on /health", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      status: "ok",
      database: { ok: true, kind: "pglite" },
      queue: {
        ok: true,
        queues: expect.arrayContaining([
          { name: QUEUE.trigger, queued: 1, active: 0, failed: 0, waiting: 1, oldestWaitingSeconds: expect.any(Number) },
        ]),
        // the backlog: due jobs no worker has taken (this server has none), and how long the oldest has waited
        backlog: { waiting: 1, oldestWaitingSeconds: expect.any(Number) },
      },
      dependencyCache: { entries: 0, bytes: 0, maxBytes: 10 * 1024 ** 3 },
    });
  });

  it("answers 503 on /health when the database is gone", async () => {
    await services.close(1000);
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body).toMatchObject({ status: "unavailable", database: { ok: false } });
    expect(JSON.stringify(body)).not.toMatch(/error|closed/i); // reasons go to the log, not to the public
    expect(captured.lines().some((l) => l.msg === "health check failed")).toBe(true);
  });
});
