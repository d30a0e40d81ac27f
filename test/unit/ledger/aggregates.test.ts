/**
 * The ledger's pre-aggregates (migration 0010): after any mix of calls, the daily and total sums
 * and each run's own sums equal what a scan of `llm_calls` gives, also for rows recorded before
 * the migration (its backfill).
 */
import type { Database } from "../../../src/db/database.js";
import { loadMigrations, migrate } from "../../../src/db/migrate.js";
import { openPglite } from "../../../src/db/pglite.js";
import { openPostgres } from "../../../src/db/pg.js";
import { Ledger } from "../../../src/stores/ledger.js";
import { ZERO_USAGE } from "../../../src/llm/model.js";
import { createPostgresDatabase, describeEachDb, freshDatabase, type DbKind } from "../../helpers/db.js";

async function run(db: Database, owner: string, repo: string, repositoryId: number, installation: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status) VALUES ($1, $2, $3, $4, 1, 'running') RETURNING id`,
    [installation, repositoryId, owner, repo],
  );
  return rows[0]!.id;
}

async function call(db: Database, runId: string | null, installation: number | null, phase: string, at: string, cost: number | null) {
  await db.query(
    `INSERT INTO llm_calls (run_id, installation_id, phase, model, status, latency_ms, input_tokens, output_tokens,
       cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd_micros, created_at)
     VALUES ($1, $2, $3, 'claude-sonnet-4-6', $4, 120, 1000, 200, 300, 50, 4000, $5, $6)`,
    [runId, installation, phase, cost === null ? "error" : "ok", cost, at],
  );
}

/** Everything the aggregates hold, computed from the ledger itself. */
async function scan(db: Database) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT (c.created_at AT TIME ZONE 'UTC')::date::text AS day, coalesce(c.installation_id, r.installation_id, 0)::text AS inst,
            coalesce(r.owner || '/' || r.repo, '') AS repository, c.phase, count(*)::text AS calls,
            sum(c.input_tokens)::text AS input, sum(c.cache_write_5m_tokens + c.cache_write_1h_tokens)::text AS cache_write,
            sum(c.cache_read_tokens)::text AS cache_read, sum(c.output_tokens)::text AS output,
            coalesce(sum(c.cost_usd_micros), 0)::text AS cost, count(*) FILTER (WHERE c.cost_usd_micros IS NULL)::text AS unknown
     FROM llm_calls c LEFT JOIN runs r ON r.id = c.run_id GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  );
  return rows;
}

async function daily(db: Database) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT day::text, installation_id::text AS inst, repository, phase, calls::text, input_tokens::text AS input,
            cache_write_tokens::text AS cache_write, cache_read_tokens::text AS cache_read, output_tokens::text AS output,
            cost_usd_micros::text AS cost, unknown_cost_calls::text AS unknown
     FROM ledger_daily ORDER BY 1, 2, 3, 4`,
  );
  return rows;
}

async function seed(db: Database) {
  const a = await run(db, "octo", "app", 10, 1);
  const b = await run(db, "octo", "lib", 11, 2);
  await call(db, a, 1, "gate", "2026-11-01T10:00:00Z", 5_000);
  await call(db, a, 1, "execute", "2026-11-01T23:59:59Z", 7_000);
  await call(db, a, 1, "execute", "2026-11-02T00:00:00Z", null);
  await call(db, a, null, "execute", "2026-11-02T01:00:00Z", 1_000); // the run says its installation
  await call(db, b, 2, "plan", "2026-11-02T05:00:00Z", 9_000);
  await call(db, null, null, "gate", "2026-11-02T06:00:00Z", 3_000); // no run: a local CLI run
  return { a, b };
}

describeEachDb("ledger aggregates on %s", (kind: DbKind) => {
  it("keeps the daily sums, the totals and each run's sums equal to the ledger, call by call", async () => {
    const db = await freshDatabase(kind);
    try {
      const { a, b } = await seed(db);
      // through the Ledger too, as the metered client records
      await new Ledger(db).record({
        runId: b,
        installationId: 2,
        phase: "plan",
        iteration: 0,
        attempt: 1,
        provider: "anthropic",
        model: "claude-sonnet-4-6",
        status: "ok",
        usage: { ...ZERO_USAGE, inputTokens: 10, outputTokens: 5 },
        costMicros: 77,
        latencyMs: 5,
      });
      expect(await daily(db)).toEqual(await scan(db));
      expect((await daily(db)).find((r) => r.repository === "" && r.phase === "gate")).toMatchObject({ inst: "0", calls: "1" });

      const totals = await db.query<{ repository: string; calls: string; cost: string }>(
        `SELECT repository, sum(calls)::text AS calls, sum(cost_usd_micros)::text AS cost FROM ledger_totals GROUP BY 1 ORDER BY 1`,
      );
      expect(totals.rows).toEqual([
        { repository: "", calls: "1", cost: "3000" },
        { repository: "octo/app", calls: "4", cost: "13000" },
        { repository: "octo/lib", calls: "2", cost: "9077" },
      ]);
      const runs = await db.query<{ id: string; llm_calls: number; cost: string; unknown_cost_calls: number; tokens: string }>(
        "SELECT id, llm_calls, cost_usd_micros::text AS cost, unknown_cost_calls, tokens::text AS tokens FROM runs ORDER BY owner, repo",
      );
      expect(runs.rows).toEqual([
        { id: a, llm_calls: 4, cost: "13000", unknown_cost_calls: 1, tokens: String(4 * (1000 + 200 + 350 + 4000)) },
        { id: b, llm_calls: 2, cost: "9077", unknown_cost_calls: 0, tokens: String(1000 + 200 + 350 + 4000 + 15) },
      ]);
    } finally {
      await db.close();
    }
  });

  it("backfills the calls recorded before the migration", async () => {
    const url = kind === "postgres" ? await createPostgresDatabase() : undefined;
    const db = url ? openPostgres(url) : await openPglite(undefined);
    try {
      const all = await loadMigrations();
      await migrate(
        db,
        all.filter((m) => m.version < 10),
      );
      await seed(db);
      const before = await scan(db);
      await migrate(db, all);
      expect(await daily(db)).toEqual(before);
      const { rows } = await db.query<{ cost: string }>("SELECT sum(cost_usd_micros)::text AS cost FROM runs");
      expect(rows[0]!.cost).toBe("22000");
    } finally {
      await db.close();
    }
  });
});
