/**
 * What the dashboard's overview reads. Sums come from the pre-aggregates (migration 0010:
 * `ledger_daily` and each run's own sums), never from a scan of `llm_calls`, so the overview of
 * 30 days stays fast at millions of calls. Every query takes the reader's `Access`: a person sees
 * only the repositories they can reach on GitHub.
 */
import type { Database } from "../db/database.js";

/** Who is reading: the operator (everything) or a person (their installations and repositories). */
export type Access = { all: true; who: string } | { all: false; who: string; installations: number[]; repositories: number[] };

/** A `WHERE` term limiting `column` (a repository id) to the reader's repositories. */
export function scoped(access: Access, column: string, params: unknown[]): string {
  if (access.all) return "TRUE";
  params.push(access.repositories);
  return `${column} = ANY($${params.length}::bigint[])`;
}

export interface DayValue {
  day: string;
  key: string;
  micros: number;
}

export interface ModelDay {
  day: string;
  model: string;
  calls: number;
  input: number;
  cacheWrite: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
  costMicros: number;
  unknownCost: number;
}

export const SERIES_DIMENSIONS = ["repository", "phase", "model"] as const;
export type SeriesDimension = (typeof SERIES_DIMENSIONS)[number] | "ticket_type";

const iso = (d: Date) => d.toISOString().slice(0, 10);

export class DashboardStore {
  constructor(private readonly db: Database) {}

  /** Known spend of today, the last 7 and the last 30 UTC days (today included). */
  async spendWindows(access: Access, today: Date): Promise<{ today: number; week: number; month: number }> {
    const params: unknown[] = [iso(today)];
    const { rows } = await this.db.query<{ today: string; week: string; month: string }>(
      `SELECT coalesce(sum(cost_usd_micros) FILTER (WHERE day = $1::date), 0)::text AS today,
              coalesce(sum(cost_usd_micros) FILTER (WHERE day > $1::date - 7), 0)::text AS week,
              coalesce(sum(cost_usd_micros), 0)::text AS month
       FROM ledger_daily WHERE day > $1::date - 30 AND day <= $1::date AND ${scoped(access, "repository_id", params)}`,
      params,
    );
    return { today: Number(rows[0]!.today), week: Number(rows[0]!.week), month: Number(rows[0]!.month) };
  }

  /** Spend per day by one dimension since `since` (a UTC day). Ticket types come from each run's own sum, by the day it started. */
  async series(access: Access, by: SeriesDimension, since: Date): Promise<DayValue[]> {
    const params: unknown[] = [iso(since)];
    const sql =
      by === "ticket_type"
        ? `SELECT (created_at AT TIME ZONE 'UTC')::date::text AS day, coalesce(ticket_type, '(unknown)') AS key,
                  sum(cost_usd_micros)::text AS micros
           FROM runs WHERE created_at >= $1::date AND ${scoped(access, "repository_id", params)} GROUP BY 1, 2 ORDER BY 1, 2`
        : `SELECT day::text AS day, ${by === "repository" ? "CASE WHEN repository = '' THEN '(no run)' ELSE repository END" : by} AS key,
                  sum(cost_usd_micros)::text AS micros
           FROM ledger_daily WHERE day >= $1::date AND ${scoped(access, "repository_id", params)} GROUP BY 1, 2 ORDER BY 1, 2`;
    const { rows } = await this.db.query<{ day: string; key: string; micros: string }>(sql, params);
    return rows.map((r) => ({ day: r.day, key: r.key, micros: Number(r.micros) }));
  }

  /** Token sums per day and model: what caching and tiering saved are priced from these. */
  async modelDays(access: Access, since: Date): Promise<ModelDay[]> {
    const params: unknown[] = [iso(since)];
    const { rows } = await this.db.query<Record<string, string>>(
      `SELECT day::text AS day, model, sum(calls)::text AS calls, sum(input_tokens)::text AS input,
              sum(cache_write_tokens)::text AS cache_write, sum(cache_write_1h_tokens)::text AS cache_write_1h,
              sum(cache_read_tokens)::text AS cache_read, sum(output_tokens)::text AS output,
              sum(cost_usd_micros)::text AS cost, sum(unknown_cost_calls)::text AS unknown
       FROM ledger_daily WHERE day >= $1::date AND ${scoped(access, "repository_id", params)} GROUP BY 1, 2 ORDER BY 1, 2`,
      params,
    );
    return rows.map((r) => ({
      day: r.day!,
      model: r.model!,
      calls: Number(r.calls),
      input: Number(r.input),
      cacheWrite: Number(r.cache_write),
      cacheWrite1h: Number(r.cache_write_1h),
      cacheRead: Number(r.cache_read),
      output: Number(r.output),
      costMicros: Number(r.cost),
      unknownCost: Number(r.unknown),
    }));
  }

  /** The model the deep-tier phases (gate, plan) used most since `since`: what tiering is compared with. */
  async deepModel(access: Access, since: Date): Promise<string | undefined> {
    const params: unknown[] = [iso(since)];
    const { rows } = await this.db.query<{ model: string }>(
      `SELECT model FROM ledger_daily WHERE day >= $1::date AND phase IN ('gate', 'plan') AND ${scoped(access, "repository_id", params)}
       GROUP BY model ORDER BY sum(calls) DESC, model LIMIT 1`,
      params,
    );
    return rows[0]?.model;
  }

  /** Runs started since `since`, by status. */
  async outcomes(access: Access, since: Date): Promise<Array<{ status: string; runs: number }>> {
    const params: unknown[] = [since.toISOString()];
    const { rows } = await this.db.query<{ status: string; runs: number }>(
      `SELECT status, count(*)::int AS runs FROM runs WHERE created_at >= $1 AND ${scoped(access, "repository_id", params)}
       GROUP BY status ORDER BY 2 DESC, 1`,
      params,
    );
    return rows.map((r) => ({ status: r.status, runs: Number(r.runs) }));
  }

  /**
   * Tickets the gate held back since `since`, per ticket type, with what the gate cost on them,
   * and the median cost of a run of that type that went past the gate (all finished runs the
   * reader can see).
   */
  async gateSavings(
    access: Access,
    since: Date,
  ): Promise<Array<{ ticketType: string; heldBack: number; gateMicros: number; medianMicros: number | null; finishedRuns: number }>> {
    const params: unknown[] = [since.toISOString()];
    const scope = scoped(access, "repository_id", params);
    const { rows } = await this.db.query<{ ticket_type: string; held: number; gate: string; median: string | null; finished: number }>(
      `WITH held AS (
         SELECT ticket_type, count(*)::int AS held, sum(cost_usd_micros) AS gate FROM runs
         WHERE status = 'needs_spec' AND ticket_type IS NOT NULL AND created_at >= $1 AND ${scope} GROUP BY ticket_type),
       finished AS (
         SELECT ticket_type, percentile_disc(0.5) WITHIN GROUP (ORDER BY cost_usd_micros) AS median, count(*)::int AS finished FROM runs
         WHERE status IN ('succeeded', 'draft', 'stopped', 'failed') AND ticket_type IN (SELECT ticket_type FROM held) AND ${scope}
         GROUP BY ticket_type)
       SELECT h.ticket_type, h.held, h.gate::text AS gate, f.median::text AS median, coalesce(f.finished, 0) AS finished
       FROM held h LEFT JOIN finished f USING (ticket_type) ORDER BY h.ticket_type`,
      params,
    );
    return rows.map((r) => ({
      ticketType: r.ticket_type,
      heldBack: Number(r.held),
      gateMicros: Number(r.gate),
      medianMicros: r.median === null ? null : Number(r.median),
      finishedRuns: Number(r.finished),
    }));
  }

  /** Today's known spend per installation the reader can see (the daily caps are per installation). */
  async spentTodayByInstallation(access: Access, today: Date): Promise<Map<number, number>> {
    const params: unknown[] = [iso(today)];
    let where = "TRUE";
    if (!access.all) {
      params.push(access.installations);
      where = `installation_id = ANY($${params.length}::bigint[])`;
    }
    const { rows } = await this.db.query<{ installation_id: string; micros: string }>(
      `SELECT installation_id::text, sum(cost_usd_micros)::text AS micros FROM ledger_daily
       WHERE day = $1::date AND installation_id <> 0 AND ${where} GROUP BY 1 ORDER BY 1`,
      params,
    );
    return new Map(rows.map((r) => [Number(r.installation_id), Number(r.micros)]));
  }

  /** The installations known to Tollgate (they have runs), for the operator's budget list. */
  async installations(): Promise<number[]> {
    const { rows } = await this.db.query<{ id: string }>(
      "SELECT DISTINCT installation_id::text AS id FROM runs UNION SELECT installation_id::text FROM installation_caps ORDER BY 1",
    );
    return rows.map((r) => Number(r.id));
  }
}
