/**
 * What past runs of the same kind cost: the expected cost shown under the gate's verdict. A
 * run's cost is the sum of its ledger rows; runs that went past the gate and ended (not those held
 * back by the gate, cancelled or in flight).
 */
import type { Database } from "../db/database.js";

export const MIN_HISTORY = 3;

export interface ExpectedCost {
  scope: "repository" | "installation";
  runs: number;
  medianMicros: number;
  p90Micros: number;
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Past runs' costs: what a run of a ticket type is expected to cost. */
export class CostHistory {
  constructor(private readonly db: Database) {}

  async expectedCost(q: {
    installationId: number;
    owner: string;
    repo: string;
    ticketType: string;
    excludeRunId?: string;
  }): Promise<ExpectedCost | null> {
    const costs = async (where: string, params: unknown[]) => {
      const { rows } = await this.db.query<{ cost: number }>(
        `SELECT coalesce(sum(c.cost_usd_micros), 0)::bigint AS cost
       FROM runs r LEFT JOIN llm_calls c ON c.run_id = r.id
       WHERE ${where} AND r.ticket_type = $1 AND r.status IN ('succeeded', 'draft', 'stopped', 'failed')
         AND r.id <> coalesce($2::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
       GROUP BY r.id`,
        [q.ticketType, q.excludeRunId ?? null, ...params],
      );
      return rows.map((r) => Number(r.cost)).sort((a, b) => a - b);
    };
    const repo = await costs("r.owner = $3 AND r.repo = $4", [q.owner, q.repo]);
    if (repo.length >= MIN_HISTORY)
      return { scope: "repository", runs: repo.length, medianMicros: percentile(repo, 50), p90Micros: percentile(repo, 90) };
    const installation = await costs("r.installation_id = $3", [q.installationId]);
    if (installation.length >= MIN_HISTORY) {
      return {
        scope: "installation",
        runs: installation.length,
        medianMicros: percentile(installation, 50),
        p90Micros: percentile(installation, 90),
      };
    }
    return null;
  }
}
