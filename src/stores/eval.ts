/** What `tollgate eval` reads back about its runs: each run's rounds, its spend by phase, and the prompts it rendered. */
import type { Database } from "../db/database.js";

export interface PhaseSpend {
  phase: string;
  calls: number;
  tokens: number;
  costMicros: number;
  unknownCost: number;
}

export interface RunFigures {
  runId: string;
  iterations: number;
  phases: PhaseSpend[];
  /**
   * The prompt templates the run's calls rendered, as `id@version`, sorted. (The ledger's sha256
   * is of the rendered text, which differs with every issue; a template's version changes with it.)
   */
  prompts: string[];
}

export async function runFigures(db: Database, runIds: string[]): Promise<RunFigures[]> {
  if (runIds.length === 0) return [];
  const [runs, phases, prompts] = await Promise.all([
    db.query<{ id: string; iterations: number }>("SELECT id, iterations FROM runs WHERE id = ANY($1::uuid[])", [runIds]),
    db.query<{ run_id: string; phase: string; calls: number; tokens: string; cost: string; unknown: number }>(
      `SELECT run_id, phase, count(*)::int AS calls,
              sum(coalesce(input_tokens, 0) + coalesce(cache_write_tokens, 0) + coalesce(cache_read_tokens, 0) + coalesce(output_tokens, 0))::text AS tokens,
              coalesce(sum(cost_usd_micros), 0)::text AS cost, count(*) FILTER (WHERE cost_usd_micros IS NULL)::int AS unknown
       FROM llm_calls WHERE run_id = ANY($1::uuid[]) GROUP BY run_id, phase ORDER BY run_id, min(id)`,
      [runIds],
    ),
    db.query<{ run_id: string; prompt: string }>(
      `SELECT DISTINCT run_id, prompt_id AS prompt FROM llm_calls
       WHERE run_id = ANY($1::uuid[]) AND prompt_id IS NOT NULL ORDER BY 1, 2`,
      [runIds],
    ),
  ]);
  return runIds.map((runId) => ({
    runId,
    iterations: Number(runs.rows.find((r) => r.id === runId)?.iterations ?? 0),
    phases: phases.rows
      .filter((p) => p.run_id === runId)
      .map((p) => ({
        phase: p.phase,
        calls: Number(p.calls),
        tokens: Number(p.tokens),
        costMicros: Number(p.cost),
        unknownCost: Number(p.unknown),
      })),
    prompts: prompts.rows.filter((p) => p.run_id === runId).map((p) => p.prompt),
  }));
}
