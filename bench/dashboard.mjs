// bench/dashboard: the dashboard's server time at scale.
//
// Fills a fresh database with 1,000,000 `llm_calls` rows over 30,000 runs (50 repositories, 5
// installations, the last 30 days), through the trigger that keeps the pre-aggregates, then
// times (after warm-up, 20 samples each, median and p95):
//   - the overview's data for the operator (every repository) and for a person (10 repositories);
//   - the overview page over HTTP (the data, the template, the response), from the first byte
//     of the request to the last byte of the answer, on loopback;
//   - a run's page (its ~33 calls, phases, cost table) over HTTP;
//   - for comparison, the same 30 days of spend by phase and day summed from `llm_calls` itself
//     (what the overview would cost without the pre-aggregates);
//   - what the trigger costs each recorded call: 2,000 single-row inserts with and without it.
// on the embedded PGlite and on PostgreSQL (when DATABASE_URL names an empty database).
//
//   npm run build && node bench/dashboard.mjs                      # PGlite only (BENCH_PGLITE_DIR=… keeps it filled)
//   DATABASE_URL=postgres://…/empty_db node bench/dashboard.mjs    # and PostgreSQL
import { createServer } from "node:http";
import { pino } from "pino";
import { migrate } from "../dist/db/migrate.js";
import { openPglite } from "../dist/db/pglite.js";
import { openPostgres } from "../dist/db/pg.js";
import { dashboardHandler } from "../dist/dashboard/handler.js";
import { overview } from "../dist/dashboard/overview.js";
import { PRICE_OVERRIDES } from "../dist/llm/prices.js";
import { PriceBook } from "../dist/llm/pricing.js";
import { BudgetStore } from "../dist/stores/budget.js";
import { DashboardStore } from "../dist/stores/dashboard.js";
import { rollup } from "../dist/stores/rollup.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Math.max(1, Math.round(ROWS / 33));
const SAMPLES = 20;
const TOKEN = "bench-operator-token-0123456789abcdef0123456789";
const log = pino({ level: "silent" });

async function fill(db) {
  await migrate(db);
  // a database filled by an earlier run (BENCH_PGLITE_DIR, or the same DATABASE_URL) is reused
  const { rows: had } = await db.query("SELECT count(*)::int AS n FROM llm_calls");
  if (had[0].n >= ROWS) return null;
  const t0 = performance.now();
  await db.query(
    `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, ticket_type, created_at, started_at, finished_at, iterations)
     SELECT 1 + i % 5, 1 + i % 50, 'org' || (i % 5), 'repo' || (i % 50), i,
            (ARRAY['succeeded', 'succeeded', 'succeeded', 'draft', 'failed', 'needs_spec', 'stopped'])[1 + i % 7],
            (ARRAY['bug', 'feature', 'chore', 'refactor'])[1 + i % 4],
            now() - (i % 30) * interval '1 day' - (i % 3600) * interval '1 second',
            now() - (i % 30) * interval '1 day' - (i % 3600) * interval '1 second',
            now() - (i % 30) * interval '1 day' - (i % 3600) * interval '1 second' + interval '9 minutes', 1 + i % 3
     FROM generate_series(1, ${RUNS}) AS i`,
  );
  // In chunks of 20,000, each its own transaction, with the hot tables vacuumed after each: the
  // app records one call per transaction, where Postgres prunes the old versions of an updated
  // sum in place (HOT), so those tables stay a page or two; a 20,000-row INSERT … SELECT updates
  // the same sums 20,000 times in one transaction, which nothing can prune until it ends.
  const chunk = 20_000;
  for (let start = 0; start < ROWS; start += chunk) {
    await db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, agent, iteration, attempt, model, tier, status, latency_ms,
                              input_tokens, output_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                              cache_read_tokens, cost_usd_micros, created_at)
       SELECT r.id, r.installation_id, (ARRAY['gate', 'plan', 'execute', 'execute', 'verify', 'review'])[1 + g % 6], 'agent-' || (g % 4),
              g % 3, 1, (ARRAY['claude-opus-4-7', 'claude-sonnet-4-6', 'claude-sonnet-4-6', 'claude-haiku-4-5'])[1 + g % 4],
              'standard', 'ok', 500 + g % 5000, 1000 + g % 7000, 100 + g % 900, g % 4096, g % 4096, 0, g % 20000,
              1000 + g % 90000, r.created_at + (g % 600) * interval '1 second'
       FROM generate_series(${start + 1}, ${Math.min(start + chunk, ROWS)}) AS g
       JOIN runs r ON r.issue_number = 1 + g % ${RUNS}`,
    );
    await db.exec("VACUUM runs, ledger_daily, ledger_totals");
  }
  await db.exec("ANALYZE");
  return (performance.now() - t0) / 1000;
}

async function time(fn) {
  for (let i = 0; i < 3; i++) await fn(i);
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(SAMPLES / 2)], p95: samples[Math.ceil(SAMPLES * 0.95) - 1] };
}

const fmt = ({ median, p95 }) => `median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`;

/** 2,000 single-row inserts as the ledger makes them, timed; the trigger on or off. */
async function insertCost(db, runId, trigger) {
  const { rows } = await db.query("SELECT coalesce(max(id), 0) AS id FROM llm_calls");
  const firstId = rows[0].id;
  if (!trigger) await db.exec("ALTER TABLE llm_calls DISABLE TRIGGER llm_calls_aggregate");
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) {
    await db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, model, status, latency_ms, input_tokens, output_tokens, cache_read_tokens, cost_usd_micros)
       VALUES ($1, 1, 'execute', 'claude-sonnet-4-6', 'ok', 900, 1000, 200, 500, 1234)`,
      [runId],
    );
  }
  const ms = (performance.now() - t0) / 2000;
  if (!trigger) {
    await db.exec("ALTER TABLE llm_calls ENABLE TRIGGER llm_calls_aggregate");
    // rows the aggregates never counted must go, or a later run of this bench would not add up
    await db.query("DELETE FROM llm_calls WHERE run_id = $1 AND cost_usd_micros = 1234 AND cache_read_tokens = 500 AND id > $2", [
      runId,
      firstId,
    ]);
  }
  return ms;
}

async function bench(kind, db) {
  console.log(`\n== ${kind}: filling ${ROWS.toLocaleString("en-US")} calls over ${RUNS.toLocaleString("en-US")} runs…`);
  const seconds = await fill(db);
  console.log(seconds === null ? "reusing the filled database" : `filled in ${seconds.toFixed(1)} s (through the aggregate trigger)`);
  const deps = {
    store: new DashboardStore(db),
    budget: new BudgetStore(db),
    prices: new PriceBook(PRICE_OVERRIDES),
    dailyCapMicros: 50_000_000,
    defaultDeepModel: "claude-opus-4-7",
  };
  const now = new Date();
  const operator = { all: true, who: "bench" };
  const person = { all: false, who: "bench", installations: [1, 2], repositories: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };
  const check = await overview(deps, operator, now);
  const { rows } = await db.query(
    "SELECT sum(cost_usd_micros)::text AS total FROM llm_calls WHERE created_at > now() - interval '30 days'",
  );
  console.log(
    `overview's 30 days: $${(check.windows.month / 1e6).toFixed(2)}; llm_calls says $${(Number(rows[0].total) / 1e6).toFixed(2)}`,
  );
  console.log(`overview data, operator:          ${fmt(await time(() => overview(deps, operator, now)))}`);
  console.log(`overview data, a person (10 repos): ${fmt(await time(() => overview(deps, person, now)))}`);

  const handler = dashboardHandler({
    db,
    budget: deps.budget,
    prices: deps.prices,
    log,
    githubApiUrl: "https://api.github.com",
    token: TOKEN,
    dailyCapMicros: 50_000_000,
    live: { timers: false },
  });
  const server = createServer((req, res) => void handler(req, res).then((done) => done || res.writeHead(404).end()));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const get = async (path) => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    return response.text();
  };
  console.log(`overview page over HTTP:          ${fmt(await time(() => get("/dashboard")))}`);
  const ids = (await db.query("SELECT id FROM runs ORDER BY issue_number LIMIT 50")).rows.map((r) => r.id);
  console.log(`a run's page over HTTP:           ${fmt(await time((i) => get(`/dashboard/runs/${ids[i % ids.length]}`)))}`);
  console.log(`runs list over HTTP:              ${fmt(await time(() => get("/dashboard/runs")))}`);
  handler.live.close();
  await new Promise((resolve) => server.close(resolve));

  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 29 * 86_400_000);
  console.log(
    `spend by phase and day, from llm_calls (no pre-aggregate): ${fmt(await time(() => rollup(db, { by: ["phase", "day"], since, until: now })))}`,
  );
  console.log(
    `spend by phase and day, from ledger_daily:                 ${fmt(await time(() => deps.store.spendByPhase(operator, since)))}`,
  );
  const on = await insertCost(db, ids[0], true);
  const off = await insertCost(db, ids[0], false);
  console.log(
    `one recorded call: ${on.toFixed(3)} ms with the aggregate trigger, ${off.toFixed(3)} ms without (×${(on / off).toFixed(2)})`,
  );
}

const pg = process.env.DATABASE_URL;
const embedded = await openPglite(process.env.BENCH_PGLITE_DIR);
try {
  await bench("PGlite (embedded)", embedded);
} finally {
  await embedded.close();
}
if (pg) {
  const db = openPostgres(pg);
  try {
    await bench("PostgreSQL", db);
  } finally {
    await db.close();
  }
}
