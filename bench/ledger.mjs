// bench/ledger: how fast the ledger answers at scale.
//
// Fills a fresh database with 1,000,000 `llm_calls` rows over 1,000 runs, 100 repos and 10
// installations spread over 90 days, then times (after warm-up, 20 runs each):
//   - the per-run cost table (the query behind the PR's table), for random runs;
//   - a 30-day rollup of one installation by phase and model (`tollgate report`);
//   - a 30-day rollup of everything by repo and day.
// on the embedded PGlite and on PostgreSQL (when DATABASE_URL names an empty database),
// and prints each query's plan, to show it runs on an index, not a scan.
//
//   npm run build && node bench/ledger.mjs                      # PGlite only
//   DATABASE_URL=postgres://…/empty_db node bench/ledger.mjs    # and PostgreSQL
import { pino } from "pino";
import { migrate } from "../dist/db/migrate.js";
import { openPglite } from "../dist/db/pglite.js";
import { openPostgres } from "../dist/db/pg.js";
import { costRows } from "../dist/stores/cost-rows.js";
import { rollup } from "../dist/stores/rollup.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = 1_000;
const SAMPLES = 20;
pino({ level: "silent" });

async function fill(db) {
  await migrate(db);
  const t0 = performance.now();
  await db.query(
    `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, ticket_type, created_at)
     SELECT 1 + i % 10, 1 + i % 100, 'org' || (i % 10), 'repo' || (i % 100), i, 'succeeded',
            (ARRAY['bug', 'feature', 'chore'])[1 + i % 3], now() - (i % 90) * interval '1 day'
     FROM generate_series(1, ${RUNS}) AS i`,
  );
  // in chunks, so the embedded database's memory stays flat
  const chunk = 100_000;
  for (let start = 0; start < ROWS; start += chunk) {
    await db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, agent, iteration, attempt, model, tier, status, latency_ms,
                              input_tokens, output_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                              cache_read_tokens, cost_usd_micros, created_at)
       SELECT r.id, r.installation_id, (ARRAY['gate', 'plan', 'execute', 'verify', 'review'])[1 + g % 5], 'agent-' || (g % 4), g % 3, 1,
              (ARRAY['claude-opus-4-7', 'claude-sonnet-4-6', 'claude-haiku-4-5'])[1 + g % 3], 'standard', 'ok', 500 + g % 5000,
              1000 + g % 7000, 100 + g % 900, g % 4096, g % 4096, 0, g % 20000, 1000 + g % 90000,
              r.created_at + (g % 3600) * interval '1 second'
       FROM generate_series(${start + 1}, ${Math.min(start + chunk, ROWS)}) AS g
       JOIN (SELECT id, installation_id, created_at, row_number() OVER (ORDER BY issue_number) AS n FROM runs) AS r ON r.n = 1 + g % ${RUNS}`,
    );
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
  return { p50: samples[Math.floor(SAMPLES / 2)], max: samples.at(-1) };
}

async function plan(db, sql, params) {
  const { rows } = await db.query(`EXPLAIN ${sql}`, params);
  return rows
    .map((r) => Object.values(r)[0])
    .filter((l) => /Scan|Index/.test(l))
    .map((l) => l.trim().replace(/\s+\(cost.*$/, ""))
    .join("; ");
}

async function bench(name, db) {
  const fillSeconds = await fill(db);
  const { rows: runs } = await db.query("SELECT id FROM runs");
  const ids = runs.map((r) => r.id);
  const now = Date.now();
  const since = new Date(now - 30 * 86_400_000);
  const until = new Date(now + 86_400_000);
  const perRun = await time((i) => costRows(db, [ids[(i * 37) % ids.length]]));
  const installation = await time((i) => rollup(db, { by: ["phase", "model"], since, until, installationId: 1 + (i % 10) }));
  const everything = await time(() => rollup(db, { by: ["repo", "day"], since, until }));
  const plans = {
    perRun: await plan(
      db,
      "SELECT phase, model, sum(cost_usd_micros) FROM llm_calls WHERE run_id = ANY($1::uuid[]) GROUP BY phase, model",
      [[ids[0]]],
    ),
    installation: await plan(
      db,
      "SELECT phase, model, sum(cost_usd_micros) FROM llm_calls c WHERE c.created_at >= $1 AND c.created_at < $2 AND c.installation_id = $3 GROUP BY phase, model",
      [since.toISOString(), until.toISOString(), 1],
    ),
  };
  const { rows: count } = await db.query("SELECT count(*)::int AS n FROM llm_calls");
  return { name, rows: count[0].n, fillSeconds, perRun, installation, everything, plans };
}

const f = (ms) => `${ms.toFixed(1)} ms`;
const results = [];
const embedded = await openPglite(undefined);
results.push(await bench("PGlite (embedded)", embedded));
await embedded.close();
if (process.env.DATABASE_URL) {
  const pg = openPostgres(process.env.DATABASE_URL);
  results.push(await bench("PostgreSQL", pg));
  await pg.close();
}
console.log(
  `bench/ledger: ${ROWS.toLocaleString("en-US")} llm_calls rows, ${RUNS} runs, 100 repos, 10 installations, 90 days; ${SAMPLES} timed runs each after 3 warm-up`,
);
console.log(
  "| database | fill | per-run cost table p50 / max | 30-day installation rollup p50 / max | 30-day rollup of all by repo and day p50 / max |",
);
console.log("|---|---:|---:|---:|---:|");
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.fillSeconds.toFixed(0)} s | ${f(r.perRun.p50)} / ${f(r.perRun.max)} | ${f(r.installation.p50)} / ${f(r.installation.max)} | ${f(r.everything.p50)} / ${f(r.everything.max)} |`,
  );
}
for (const r of results) console.log(`plans on ${r.name}: per-run: ${r.plans.perRun}; installation rollup: ${r.plans.installation}`);
