/**
 * Deliveries in a burst: the web path answers once each delivery is recorded with its job (the
 * outbox), and the jobs follow. Here the process dies before they are sent: nothing is lost, the
 * next start sends each job once, and a worker handles each delivery once. GitHub is played by
 * nock; the deliveries go through `probot.receive` as GitHub sends them.
 */
import nock from "nock";
import { IntakePressure } from "../../src/queue/intake.js";
import { QUEUE } from "../../src/queue/jobs.js";
import { Outbox } from "../../src/queue/outbox.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { describeEachDb } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { configFile, installationToken } from "../helpers/github.js";
import { captureLog } from "../helpers/log.js";
import { INSTALLATION_ID, issuesLabeled } from "../helpers/webhooks.js";
import { getJson } from "../helpers/http.js";

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1"); // the app's own /health, served on loopback
});
afterAll(() => nock.enableNetConnect());

describeEachDb("webhooks in a burst on %s", (kind) => {
  let app: TestApp;
  const captured = captureLog();
  afterEach(async () => {
    await app.close();
    nock.cleanAll();
    expect(app.github.errors).toEqual([]);
  });

  const count = async (sql: string, params: unknown[] = []) =>
    (await app.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

  it("answers once each delivery is recorded; a crash before the jobs are sent loses none, and the next start sends each once", async () => {
    let now = 1_000_000;
    const intake = new IntakePressure({ busyPerSecond: 20, windowMs: 250, now: () => now });
    // the process dies before its burst delay is over: its outbox never sends
    app = await createTestApp(kind, captured.log, { intake, outbox: { wait: () => new Promise(() => undefined) } });
    for (let i = 0; i < 5; i++) intake.arrived(); // 5 in 250 ms: a burst
    const labels = ["documentation", "bug", "question"];
    for (const [i, label] of labels.entries()) {
      await app.probot.receive({ id: `burst-${i}`, name: "issues", payload: issuesLabeled(label) } as never);
    }
    // answered: each delivery recorded with its job, none in the queue yet
    expect(await count("deliveries WHERE status = 'received'")).toBe(3);
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(0);
    const health = await getJson(app.handlers, "/health");
    expect(health.queue.backlog).toMatchObject({ waiting: 3, unsent: 3 });
    expect(health.intake).toMatchObject({ burst: true, deliveries: 5 });

    // the next start, the burst long over: its outbox sends what was left, each job once
    now += 60_000;
    const restarted = new Outbox(app.services.db, app.services.deliveries, app.services.queue, captured.log, { sweepMs: 60_000 });
    restarted.start();
    await eventually(async () => (await app.services.deliveries.unsent()).count === 0);
    await restarted.send(); // a second pass finds nothing more
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(3);

    // and a worker handles each once: none of these labels is the trigger label
    const github = [
      installationToken(INSTALLATION_ID),
      configFile("Codertocat", "Hello-World", undefined, 3),
      configFile("Codertocat", ".github", undefined, 3),
    ];
    await app.startWorkers(1, { queues: [QUEUE.trigger] });
    const handled = await eventually(async () => {
      const rows = (
        await app.services.db.query<{ id: string; status: string; detail: string }>("SELECT id, status, detail FROM deliveries ORDER BY id")
      ).rows;
      return rows.every((r) => r.status !== "received") && rows;
    });
    expect(handled).toEqual(
      labels.map((label, i) => ({ id: `burst-${i}`, status: "ignored", detail: `label "${label}" is not the trigger label "ai-ready"` })),
    );
    for (const scope of github) expect(scope.pendingMocks()).toEqual([]);
    await restarted.stop();
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(3);
  });
});
