/**
 * The collectors of /metrics that read the database, on both databases: the ledger's tokens and
 * cost (summed as `llm_calls` sums them, to the token and the micro-dollar), runs by status,
 * the queues, and each installation's budget left today. The ledger's counters name repositories
 * only when the operator asks (TOLLGATE_METRICS_REPOSITORY_LABELS=1); by default, installations.
 */
import { pino } from "pino";
import type { Database } from "../../../src/db/database.js";
import { createMetrics, type TollgateMetrics } from "../../../src/observability/metrics.js";
import { semconv } from "../../../src/observability/semconv.js";
import { QUEUE } from "../../../src/queue/jobs.js";
import { JobQueue } from "../../../src/queue/queue.js";
import { BudgetStore } from "../../../src/stores/budget.js";
import { MetricsSource } from "../../../src/stores/metrics-source.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { parseScrape } from "../../helpers/prometheus.js";

const NOW = Date.parse("2026-11-02T12:00:00Z");
const OPERATOR = { dailyMicros: 50_000_000, runMicros: 25_000_000 };

async function run(db: Database, repo: string, installation: number, status: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status) VALUES ($1, $2, 'octo', $3, 1, $4) RETURNING id`,
    [installation, repo.length, repo, status],
  );
  return rows[0]!.id;
}

interface Call {
  run: string | null;
  installation?: number | null;
  phase: string;
  model?: string;
  tokens: [input: number, cacheWrite5m: number, cacheWrite1h: number, cacheRead: number, output: number];
  cost: number | null;
  at: string;
}

async function call(db: Database, c: Call): Promise<void> {
  await db.query(
    `INSERT INTO llm_calls (run_id, installation_id, phase, model, status, latency_ms, input_tokens, cache_write_5m_tokens,
       cache_write_1h_tokens, cache_read_tokens, output_tokens, cost_usd_micros, created_at)
     VALUES ($1, $2, $3, $4, $5, 100, $6, $7, $8, $9, $10, $11, $12)`,
    [c.run, c.installation ?? null, c.phase, c.model ?? "claude-sonnet-4-6", c.cost === null ? "error" : "ok", ...c.tokens, c.cost, c.at],
  );
}

/** The ledger summed by phase, model and repository, straight from `llm_calls`. */
async function ledgerSums(db: Database) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT c.phase, c.model, coalesce(r.owner || '/' || r.repo, '') AS repository,
            sum(c.input_tokens)::text AS input, sum(c.cache_write_5m_tokens + c.cache_write_1h_tokens)::text AS cache_write,
            sum(c.cache_read_tokens)::text AS cache_read, sum(c.output_tokens)::text AS output,
            coalesce(sum(c.cost_usd_micros), 0)::text AS cost
     FROM llm_calls c LEFT JOIN runs r ON r.id = c.run_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return rows;
}

describeEachDb("the database metrics on %s", (kind) => {
  let db: Database;
  let queue: JobQueue;
  let metrics: TollgateMetrics;
  let byInstallation: TollgateMetrics;
  const scrape = async () => parseScrape(await metrics.registry.metrics());

  beforeAll(async () => {
    db = await freshDatabase(kind);
    queue = new JobQueue(db, pino({ level: "silent" }), { maintenance: false });
    await queue.start();
    const web = { source: new MetricsSource(db), queue, operatorCaps: OPERATOR, now: () => NOW };
    metrics = createMetrics({ semconv: semconv(), web: { ...web, repositoryLabels: true } });
    byInstallation = createMetrics({ semconv: semconv(), web });

    const app = await run(db, "app", 1, "succeeded");
    const lib = await run(db, "lib", 2, "running");
    await run(db, "app", 1, "failed");
    // odd micro-dollar amounts, so a rounding anywhere would show
    await call(db, {
      run: app,
      installation: 1,
      phase: "gate",
      model: "claude-opus-4-7",
      tokens: [1200, 300, 0, 0, 250],
      cost: 1_234_567,
      at: "2026-11-01T10:00:00Z",
    });
    await call(db, {
      run: app,
      installation: 1,
      phase: "execute",
      tokens: [800, 0, 75, 4000, 333],
      cost: 98_765,
      at: "2026-11-02T09:00:00Z",
    });
    await call(db, { run: app, phase: "execute", tokens: [10, 0, 0, 4000, 1], cost: 7, at: "2026-11-02T09:01:00Z" }); // the run says its installation
    await call(db, { run: lib, installation: 2, phase: "plan", tokens: [5000, 0, 0, 0, 900], cost: null, at: "2026-11-02T10:00:00Z" });
    await call(db, {
      run: lib,
      installation: 2,
      phase: "plan",
      tokens: [4000, 0, 0, 1000, 800],
      cost: 3_000_001,
      at: "2026-11-02T11:00:00Z",
    });
    await call(db, { run: null, phase: "gate", tokens: [50, 0, 0, 0, 5], cost: 11, at: "2026-11-02T11:30:00Z" }); // the CLI's local run
    await new BudgetStore(db).setCaps({ installationId: 2, dailyMicros: 2_000_000, runMicros: null });
    await new BudgetStore(db).setCaps({ installationId: 3, dailyMicros: 9_000_000, runMicros: null });
    await queue.send(QUEUE.trigger, { deliveryId: "d-1" }, "11111111-1111-4111-8111-111111111111");
  });
  afterAll(async () => {
    await queue.stop(1000);
    await db.close();
  });

  it("counts tokens by type and cost as the ledger sums them, to the token and the micro-dollar", async () => {
    const s = await scrape();
    expect(s.types.get("tollgate_tokens_total")).toBe("COUNTER");
    expect(s.types.get("tollgate_cost_usd_total")).toBe("COUNTER");
    const sums = await ledgerSums(db);
    expect(sums.length).toBe(4);
    for (const row of sums) {
      const where = { phase: row.phase!, model: row.model!, repository: row.repository! };
      const tokens = (type: string) =>
        s.samples("tollgate_tokens_total").find((m) => JSON.stringify(m.labels) === JSON.stringify({ ...where, type }))?.value;
      expect({
        input: tokens("input"),
        cache_write: tokens("cache_write"),
        cache_read: tokens("cache_read"),
        output: tokens("output"),
      }).toEqual({
        input: Number(row.input),
        cache_write: Number(row.cache_write),
        cache_read: Number(row.cache_read),
        output: Number(row.output),
      });
      const cost = s.samples("tollgate_cost_usd_total").find((m) => JSON.stringify(m.labels) === JSON.stringify(where))!.value;
      expect(Math.round(cost * 1e6)).toBe(Number(row.cost));
    }
    expect(s.samples("tollgate_cost_usd_total")).toContainEqual({
      labels: { phase: "execute", model: "claude-sonnet-4-6", repository: "octo/app" },
      value: 0.098772,
    });
    // a call outside any run has no repository
    expect(s.samples("tollgate_tokens_total")).toContainEqual({
      labels: { phase: "gate", model: "claude-sonnet-4-6", repository: "", type: "input" },
      value: 50,
    });
  });

  it("by default labels the ledger's counters by installation id, and never names a repository", async () => {
    const text = await byInstallation.registry.metrics();
    expect(text).not.toMatch(/octo\/|repository=/);
    const s = parseScrape(text);
    for (const m of s.samples("tollgate_tokens_total"))
      expect(Object.keys(m.labels).sort()).toEqual(["installation", "model", "phase", "type"]);
    for (const m of s.samples("tollgate_cost_usd_total")) expect(Object.keys(m.labels).sort()).toEqual(["installation", "model", "phase"]);
    // installation 1's two execute calls (the second through its run's installation)
    expect(s.samples("tollgate_cost_usd_total")).toContainEqual({
      labels: { phase: "execute", model: "claude-sonnet-4-6", installation: "1" },
      value: 0.098772,
    });
    expect(s.samples("tollgate_tokens_total")).toContainEqual({
      labels: { phase: "plan", model: "claude-sonnet-4-6", installation: "2", type: "input" },
      value: 9000,
    });
    // a call outside any installation (the CLI's local run) has none
    expect(s.samples("tollgate_tokens_total")).toContainEqual({
      labels: { phase: "gate", model: "claude-sonnet-4-6", installation: "", type: "input" },
      value: 50,
    });
  });

  it("grows with new calls, and concurrent scrapes never add up twice", async () => {
    const before = (await scrape()).samples("tollgate_tokens_total").find((m) => m.labels.phase === "plan" && m.labels.type === "output")!;
    const lib = (await db.query<{ id: string }>("SELECT id FROM runs WHERE repo = 'lib'")).rows[0]!.id;
    await call(db, { run: lib, installation: 2, phase: "plan", tokens: [1, 0, 0, 0, 7], cost: 5, at: "2026-11-02T11:45:00Z" });
    const scrapes = await Promise.all([1, 2, 3].map(() => scrape()));
    for (const s of scrapes) {
      const after = s.samples("tollgate_tokens_total").find((m) => m.labels.phase === "plan" && m.labels.type === "output")!;
      expect(after.value).toBe(before.value + 7);
    }
  });

  it("counts the runs that ended by status, every way of ending present, and the active ones", async () => {
    const s = await scrape();
    expect(s.types.get("tollgate_runs_total")).toBe("COUNTER");
    const runs = Object.fromEntries(s.samples("tollgate_runs_total").map((m) => [m.labels.status, m.value]));
    expect(runs).toEqual({ needs_spec: 0, succeeded: 1, draft: 0, stopped: 0, failed: 1, cancelled: 0 });
    expect(s.samples("tollgate_runs_active")).toEqual([{ labels: {}, value: 1 }]);
  });

  it("shows each queue's jobs by state", async () => {
    const jobs = (await scrape()).samples("tollgate_queue_jobs");
    expect(jobs).toContainEqual({ labels: { queue: QUEUE.trigger, state: "queued" }, value: 1 });
    expect(jobs).toContainEqual({ labels: { queue: QUEUE.run, state: "active" }, value: 0 });
    expect(new Set(jobs.map((j) => j.labels.queue))).toEqual(new Set(Object.values(QUEUE)));
    // the backlog: the trigger job is due and no worker took it; nothing waits in the run queue
    const oldest = (await scrape()).samples("tollgate_queue_oldest_waiting_seconds");
    expect(oldest.find((o) => o.labels.queue === QUEUE.trigger)?.value).toBeGreaterThanOrEqual(0);
    expect(oldest).toContainEqual({ labels: { queue: QUEUE.run }, value: 0 });
    expect(oldest).toHaveLength(Object.values(QUEUE).length);
  });

  it("says what is left of each installation's daily cap today (UTC)", async () => {
    const budget = Object.fromEntries(
      (await scrape()).samples("tollgate_budget_remaining_usd").map((m) => [m.labels.installation, m.value]),
    );
    expect(budget).toEqual({
      // the operator's $50: today's two execute calls (the second through its run's installation); yesterday's gate is not today's
      "1": (50_000_000 - 98_765 - 7) / 1e6,
      // its own $2 cap, passed: the unknown-cost call counts 0 here, the known ones 3_000_001 + 5
      "2": (2_000_000 - 3_000_001 - 5) / 1e6,
      // a cap and no call yet
      "3": 9,
    });
  });

  it("answers a scrape with an error when the database is gone", async () => {
    const other = await freshDatabase(kind);
    const broken = createMetrics({ semconv: semconv(), web: { source: new MetricsSource(other), queue, operatorCaps: OPERATOR } });
    await other.close();
    await expect(broken.registry.metrics()).rejects.toThrow();
  });
});
