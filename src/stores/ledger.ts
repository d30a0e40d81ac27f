import type { Database } from "../db/database.js";
import type { Usage } from "../llm/model.js";

/** One model call attempt, as the ledger stores it. */
export interface LedgerEntry {
  runId?: string | null;
  installationId?: number | null;
  phase: string;
  agent?: string | null;
  iteration: number;
  attempt: number;
  provider: string;
  tier?: string | null;
  model: string;
  status: "ok" | "error";
  usage: Usage;
  /** Micro-dollars; `null` when the price or a token count is unknown. */
  costMicros: number | null;
  latencyMs: number;
  stopReason?: string | null;
  requestId?: string | null;
  promptId?: string | null;
  promptSha256?: string | null;
  error?: string | null;
  errorKind?: string | null;
  streamed?: boolean;
}

export interface SpendFilter {
  runId?: string;
  phase?: string;
  installationId?: number;
  since?: Date;
}

/** The `llm_calls` table: every model call Tollgate made. */
export class Ledger {
  constructor(private readonly db: Database) {}

  /** Records a call attempt; with `reservation`, the attempt's budget reservation is settled in the same statement. */
  async record(e: LedgerEntry, reservation?: { id: number; micros: number }): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(
      `WITH settled AS (DELETE FROM budget_reservations WHERE id = $27)
       INSERT INTO llm_calls (
         run_id, installation_id, phase, agent, iteration, attempt, provider, tier, model, status,
         input_tokens, output_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
         cache_read_tokens, cost_usd_micros, latency_ms, stop_reason, request_id, prompt_id,
         prompt_sha256, error, error_kind, streamed, raw_usage, reserved_usd_micros)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
               $20, $21, $22, $23, $24, $25, $26, $28)
       RETURNING id`,
      [
        e.runId ?? null,
        e.installationId ?? null,
        e.phase,
        e.agent ?? null,
        e.iteration,
        e.attempt,
        e.provider,
        e.tier ?? null,
        e.model,
        e.status,
        e.usage.inputTokens,
        e.usage.outputTokens,
        e.usage.cacheWriteTokens,
        e.usage.cacheWrite5mTokens,
        e.usage.cacheWrite1hTokens,
        e.usage.cacheReadTokens,
        e.costMicros,
        Math.round(e.latencyMs),
        e.stopReason ?? null,
        e.requestId ?? null,
        e.promptId ?? null,
        e.promptSha256 ?? null,
        e.error ?? null,
        e.errorKind ?? null,
        e.streamed ?? false,
        e.usage.raw === null || e.usage.raw === undefined ? null : JSON.stringify(e.usage.raw),
        reservation?.id ?? null,
        reservation?.micros ?? null,
      ],
    );
    return rows[0]!.id;
  }

  /** Known spend in micro-dollars, and how many calls have an unknown cost. */
  async spent(filter: SpendFilter): Promise<{ micros: number; unknownCalls: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (filter.runId !== undefined) add("run_id = ?", filter.runId);
    if (filter.phase !== undefined) add("phase = ?", filter.phase);
    if (filter.installationId !== undefined) add("installation_id = ?", filter.installationId);
    if (filter.since !== undefined) add("created_at >= ?", filter.since.toISOString());
    const { rows } = await this.db.query<{ micros: number | null; unknown: number }>(
      `SELECT sum(cost_usd_micros)::bigint AS micros, count(*) FILTER (WHERE cost_usd_micros IS NULL)::int AS unknown
       FROM llm_calls ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`,
      params,
    );
    return { micros: rows[0]?.micros ?? 0, unknownCalls: rows[0]?.unknown ?? 0 };
  }

  /** Known spend per phase of a run, in pipeline order of first use. */
  async spentByPhase(runId: string): Promise<Array<{ phase: string; micros: number }>> {
    const { rows } = await this.db.query<{ phase: string; micros: number | null }>(
      `SELECT phase, sum(cost_usd_micros)::bigint AS micros FROM llm_calls WHERE run_id = $1
       GROUP BY phase ORDER BY min(id)`,
      [runId],
    );
    return rows.map((r) => ({ phase: r.phase, micros: r.micros ?? 0 }));
  }
}
