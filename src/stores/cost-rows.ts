import type { Database } from "../db/database.js";

/** The ledger's rows of some runs, summed per phase and model. */
export interface CostRow {
  phase: string;
  model: string;
  calls: number;
  /** Sums over the calls that reported the count; `unknown*` counts the calls that did not. */
  input: number;
  cacheWrite: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
  costMicros: number;
  unknownInput: number;
  unknownCacheWrite: number;
  unknownCacheRead: number;
  unknownOutput: number;
  unknownCost: number;
  latencyMs: number;
  /** Rows with the 5m/1h split unknown, priced apart for the savings lines. */
  unsplitCacheWrite: number;
}

export interface RunSummary {
  id: string;
  budgetMicros: number | null;
  iterations: number;
}

/** What each phase of a run cost, per iteration (the progress display and the per-round line). */
export interface PhaseCost {
  phase: string;
  iteration: number;
  calls: number;
  /** The sum over the calls whose cost is known. */
  costMicros: number;
  /** Calls whose cost is unknown (no price for the model, or usage never reported, as for an aborted call). */
  unknownCalls: number;
}

/** What runs cost: the ledger's rows per run, phase and model, for the cost tables and progress. */
export class RunCosts {
  constructor(private readonly db: Database) {}

  async costRows(runIds: string[]): Promise<CostRow[]> {
    if (runIds.length === 0) return [];
    const { rows } = await this.db.query<Record<string, number | string | null>>(
      `SELECT phase, model,
            count(*)::int AS calls,
            coalesce(sum(input_tokens), 0)::bigint AS input,
            coalesce(sum(cache_write_tokens), 0)::bigint AS cache_write,
            coalesce(sum(cache_write_5m_tokens), 0)::bigint AS cache_write_5m,
            coalesce(sum(cache_write_1h_tokens), 0)::bigint AS cache_write_1h,
            coalesce(sum(cache_read_tokens), 0)::bigint AS cache_read,
            coalesce(sum(output_tokens), 0)::bigint AS output,
            coalesce(sum(cost_usd_micros), 0)::bigint AS cost,
            count(*) FILTER (WHERE input_tokens IS NULL)::int AS unknown_input,
            count(*) FILTER (WHERE cache_write_tokens IS NULL)::int AS unknown_cache_write,
            count(*) FILTER (WHERE cache_read_tokens IS NULL)::int AS unknown_cache_read,
            count(*) FILTER (WHERE output_tokens IS NULL)::int AS unknown_output,
            count(*) FILTER (WHERE cost_usd_micros IS NULL)::int AS unknown_cost,
            coalesce(sum(cache_write_tokens) FILTER (WHERE cache_write_5m_tokens IS NULL OR cache_write_1h_tokens IS NULL), 0)::bigint AS unsplit,
            coalesce(sum(latency_ms), 0)::bigint AS latency,
            min(id) AS first
     FROM llm_calls WHERE run_id = ANY($1::uuid[])
     GROUP BY phase, model`,
      [runIds],
    );
    return rows.map((r) => ({
      phase: String(r.phase),
      model: String(r.model),
      calls: Number(r.calls),
      input: Number(r.input),
      cacheWrite: Number(r.cache_write),
      cacheWrite5m: Number(r.cache_write_5m),
      cacheWrite1h: Number(r.cache_write_1h),
      cacheRead: Number(r.cache_read),
      output: Number(r.output),
      costMicros: Number(r.cost),
      unknownInput: Number(r.unknown_input),
      unknownCacheWrite: Number(r.unknown_cache_write),
      unknownCacheRead: Number(r.unknown_cache_read),
      unknownOutput: Number(r.unknown_output),
      unknownCost: Number(r.unknown_cost),
      unsplitCacheWrite: Number(r.unsplit),
      latencyMs: Number(r.latency),
    }));
  }

  async runSummaries(runIds: string[]): Promise<RunSummary[]> {
    if (runIds.length === 0) return [];
    const { rows } = await this.db.query<{ id: string; budget_usd_micros: number | null; iterations: number }>(
      "SELECT id, budget_usd_micros, iterations FROM runs WHERE id = ANY($1::uuid[]) ORDER BY created_at",
      [runIds],
    );
    return rows.map((r) => ({ id: r.id, budgetMicros: r.budget_usd_micros, iterations: r.iterations }));
  }

  /** The runs of an issue (and of its PR's revisions), oldest first. */
  async runsOfIssue(owner: string, repo: string, issueNumber: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      "SELECT id FROM runs WHERE owner = $1 AND repo = $2 AND issue_number = $3 ORDER BY created_at",
      [owner, repo, issueNumber],
    );
    return rows.map((r) => r.id);
  }

  async phaseCosts(runId: string): Promise<PhaseCost[]> {
    const { rows } = await this.db.query<{ phase: string; iteration: number; calls: number; cost: number; unknown: number }>(
      `SELECT phase, iteration, count(*)::int AS calls, coalesce(sum(cost_usd_micros), 0)::bigint AS cost,
            count(*) FILTER (WHERE cost_usd_micros IS NULL)::int AS unknown
     FROM llm_calls WHERE run_id = $1 GROUP BY phase, iteration ORDER BY min(id)`,
      [runId],
    );
    return rows.map((r) => ({
      phase: r.phase,
      iteration: Number(r.iteration),
      calls: Number(r.calls),
      costMicros: Number(r.cost),
      unknownCalls: Number(r.unknown),
    }));
  }
}
