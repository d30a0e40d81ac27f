/**
 * Rollups of the ledger over a period, by any of phase, model, repo, ticket type and day: what
 * `tollgate report` prints. Served by the `created_at` and `(installation_id, created_at)`
 * indexes on `llm_calls`.
 */
import type { Database } from "../db/database.js";

export const DIMENSIONS = ["phase", "model", "repo", "ticket_type", "day", "issue"] as const;
export type Dimension = (typeof DIMENSIONS)[number];

const EXPRESSION: Record<Dimension, string> = {
  phase: "c.phase",
  model: "c.model",
  repo: "coalesce(r.owner || '/' || r.repo, '(no run)')",
  ticket_type: "coalesce(r.ticket_type, '(unknown)')",
  day: "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  /** Every run of an issue (the first, retries, revisions of its PR) together. */
  issue: "coalesce(r.owner || '/' || r.repo || '#' || r.issue_number, '(no run)')",
};

export interface RollupQuery {
  by: Dimension[];
  since: Date;
  until: Date;
  installationId?: number;
  /** owner/name */
  repo?: string;
  /** Only these repositories (ids): what a dashboard reader can access; calls with no run are left out. */
  repositoryIds?: number[];
  /** Only issues whose pull request was merged: the cost per merged PR, all its runs included. */
  merged?: boolean;
}

/** Sums over some ledger rows; a count a call did not report adds nothing. */
export interface TokenSums {
  calls: number;
  input: number;
  cacheWrite: number;
  cacheRead: number;
  output: number;
  costMicros: number;
  /** Calls whose cost is unknown (no price, or usage not reported): not in `costMicros`. */
  unknownCost: number;
}

export interface RollupRow extends TokenSums {
  keys: Record<string, string>;
}

export async function rollup(db: Database, q: RollupQuery): Promise<RollupRow[]> {
  if (q.by.length === 0) throw new Error("a rollup needs at least one dimension");
  const params: unknown[] = [q.since.toISOString(), q.until.toISOString()];
  const where = ["c.created_at >= $1", "c.created_at < $2"];
  if (q.installationId !== undefined) {
    params.push(q.installationId);
    where.push(`c.installation_id = $${params.length}`);
  }
  if (q.repo !== undefined) {
    const [owner, name] = q.repo.split("/");
    params.push(owner, name);
    where.push(`r.owner = $${params.length - 1} AND r.repo = $${params.length}`);
  }
  if (q.repositoryIds !== undefined) {
    params.push(q.repositoryIds);
    where.push(`r.repository_id = ANY($${params.length}::bigint[])`);
  }
  if (q.merged) {
    where.push(
      "EXISTS (SELECT 1 FROM runs m WHERE m.repository_id = r.repository_id AND m.issue_number = r.issue_number AND m.pr_state = 'merged')",
    );
  }
  const needsRuns =
    q.repo !== undefined ||
    q.repositoryIds !== undefined ||
    q.merged ||
    q.by.some((d) => d === "repo" || d === "ticket_type" || d === "issue");
  const keys = q.by.map((d, i) => `${EXPRESSION[d]} AS k${i}`);
  const { rows } = await db.query<Record<string, string | number>>(
    `SELECT ${keys.join(", ")},
            count(*)::int AS calls,
            coalesce(sum(c.input_tokens), 0)::bigint AS input,
            coalesce(sum(c.cache_write_tokens), 0)::bigint AS cache_write,
            coalesce(sum(c.cache_read_tokens), 0)::bigint AS cache_read,
            coalesce(sum(c.output_tokens), 0)::bigint AS output,
            coalesce(sum(c.cost_usd_micros), 0)::bigint AS cost,
            count(*) FILTER (WHERE c.cost_usd_micros IS NULL)::int AS unknown_cost
     FROM llm_calls c ${needsRuns ? "LEFT JOIN runs r ON r.id = c.run_id" : ""}
     WHERE ${where.join(" AND ")}
     GROUP BY ${q.by.map((_, i) => `k${i}`).join(", ")}
     ORDER BY ${q.by.map((_, i) => `k${i}`).join(", ")}`,
    params,
  );
  return rows.map((r) => ({
    keys: Object.fromEntries(q.by.map((d, i) => [d, String(r[`k${i}`])])),
    calls: Number(r.calls),
    input: Number(r.input),
    cacheWrite: Number(r.cache_write),
    cacheRead: Number(r.cache_read),
    output: Number(r.output),
    costMicros: Number(r.cost),
    unknownCost: Number(r.unknown_cost),
  }));
}
