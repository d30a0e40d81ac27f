/**
 * What `/metrics` reads from the database at scrape time (src/observability/metrics.ts). The
 * token and cost counters come from `ledger_totals`, which a trigger keeps equal to `llm_calls`
 * (migrations/0010_ledger_aggregates.sql), so they match the ledger exactly whichever process
 * made the calls, and a scrape reads one row per installation (or repository), phase and model,
 * not every call.
 */
import type { Database } from "../db/database.js";

/** The ledger's sums for one installation or one repository, phase and model, since the first call. */
export interface LedgerTotal {
  /** What the sums are grouped by: the installation id ('' for calls outside an installation), or owner/name ('' for calls outside a run). */
  group: string;
  phase: string;
  model: string;
  calls: number;
  inputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
  costMicros: number;
}

/** An installation's daily cap (null: the operator's default) and what its calls cost on one UTC day. */
export interface InstallationDay {
  installationId: number;
  dailyCapMicros: number | null;
  spentMicros: number;
}

export class MetricsSource {
  constructor(private readonly db: Database) {}

  /**
   * By installation (the default: no repository name leaves the database), or by repository name
   * summed over installations and repository ids: a repository that moved or was renamed keeps
   * one series per name, as a person reads it.
   */
  async ledgerTotals(by: "installation" | "repository"): Promise<LedgerTotal[]> {
    // installation 0 is a call with no installation (the CLI's local runs)
    const group = by === "repository" ? "repository" : "CASE WHEN installation_id = 0 THEN '' ELSE installation_id::text END";
    const { rows } = await this.db.query<Record<string, string | number>>(
      `SELECT ${group} AS grp, phase, model, sum(calls)::bigint AS calls, sum(input_tokens)::bigint AS input,
              sum(cache_write_tokens)::bigint AS cache_write, sum(cache_read_tokens)::bigint AS cache_read,
              sum(output_tokens)::bigint AS output, sum(cost_usd_micros)::bigint AS cost
       FROM ledger_totals GROUP BY 1, phase, model ORDER BY 1, phase, model`,
    );
    return rows.map((r) => ({
      group: String(r.grp),
      phase: String(r.phase),
      model: String(r.model),
      calls: Number(r.calls),
      inputTokens: Number(r.input),
      cacheWriteTokens: Number(r.cache_write),
      cacheReadTokens: Number(r.cache_read),
      outputTokens: Number(r.output),
      costMicros: Number(r.cost),
    }));
  }

  /** How many runs are in each status. */
  async runsByStatus(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ status: string; n: number }>("SELECT status, count(*)::bigint AS n FROM runs GROUP BY status");
    return new Map(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Every installation that has a cap of its own or has ever made a call, with what its calls
   * cost on `day` (UTC, YYYY-MM-DD) from the daily pre-aggregate. Calls without an installation
   * (the CLI's local runs, installation 0) have no daily cap and are left out.
   */
  async installationDays(day: string): Promise<InstallationDay[]> {
    const { rows } = await this.db.query<{ installation_id: number; cap: number | null; spent: number }>(
      `WITH installations AS (
         SELECT installation_id FROM installation_caps
         UNION SELECT installation_id FROM ledger_totals WHERE installation_id <> 0
       )
       SELECT i.installation_id, c.daily_usd_micros AS cap,
              coalesce((SELECT sum(d.cost_usd_micros) FROM ledger_daily d WHERE d.installation_id = i.installation_id AND d.day = $1::date), 0)::bigint AS spent
       FROM installations i LEFT JOIN installation_caps c ON c.installation_id = i.installation_id
       ORDER BY i.installation_id`,
      [day],
    );
    return rows.map((r) => ({
      installationId: Number(r.installation_id),
      dailyCapMicros: r.cap === null ? null : Number(r.cap),
      spentMicros: Number(r.spent),
    }));
  }
}
