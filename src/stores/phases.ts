/**
 * The `phases` table: one row per attempt of a phase of a run, with its checkpoint (the output
 * of a succeeded attempt, which a resumed or follow-up run reuses instead of paying again).
 */
import type { Database } from "../db/database.js";

export type PhaseStatus = "running" | "succeeded" | "failed" | "cancelled";

export interface PhaseRecord {
  /** The phase's name (src/phases/registry.ts: the store keeps what it is given). */
  name: string;
  iteration: number;
  attempt: number;
  status: PhaseStatus;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export class PhaseStore {
  constructor(private readonly db: Database) {}

  /** The output of the latest succeeded attempt of this phase and iteration, if any. */
  async checkpoint<T>(runId: string, name: string, iteration: number): Promise<T | undefined> {
    const { rows } = await this.db.query<{ output: T }>(
      "SELECT output FROM phases WHERE run_id = $1 AND name = $2 AND iteration = $3 AND status = 'succeeded' ORDER BY attempt DESC LIMIT 1",
      [runId, name, iteration],
    );
    return rows[0]?.output;
  }

  /**
   * Records a new attempt as running and returns its row id and number. An earlier attempt left
   * `running` was cut off by a worker that died: it is marked failed, saying so. The run's
   * round count follows the iteration.
   */
  async begin(runId: string, name: string, iteration: number): Promise<{ id: number; attempt: number }> {
    const { rows } = await this.db.query<{ id: number; attempt: number }>(
      `INSERT INTO phases (run_id, name, iteration, attempt, status)
       SELECT $1, $2, $3, coalesce(max(attempt), 0) + 1, 'running' FROM phases WHERE run_id = $1 AND name = $2 AND iteration = $3
       RETURNING id, attempt`,
      [runId, name, iteration],
    );
    const started = rows[0]!;
    await this.db.query(
      `UPDATE phases SET status = 'failed', error = 'interrupted: the worker running it stopped', finished_at = now()
       WHERE run_id = $1 AND name = $2 AND iteration = $3 AND attempt < $4 AND status = 'running'`,
      [runId, name, iteration, started.attempt],
    );
    if (iteration > 0)
      await this.db.query("UPDATE runs SET iterations = greatest(iterations, $2), updated_at = now() WHERE id = $1", [runId, iteration]);
    return started;
  }

  async succeeded(id: number, output: unknown): Promise<void> {
    await this.db.query("UPDATE phases SET status = 'succeeded', output = $2, finished_at = now() WHERE id = $1", [
      id,
      JSON.stringify(output ?? null),
    ]);
  }

  async ended(id: number, status: "failed" | "cancelled", error: string): Promise<void> {
    await this.db.query("UPDATE phases SET status = $2, error = $3, finished_at = now() WHERE id = $1", [id, status, error]);
  }

  /** Every attempt of a run, in order. */
  async list(runId: string): Promise<PhaseRecord[]> {
    const { rows } = await this.db.query<PhaseRecord>(
      "SELECT name, iteration, attempt, status, error, started_at, finished_at FROM phases WHERE run_id = $1 ORDER BY id",
      [runId],
    );
    return rows;
  }

  /** The run's newest attempt (where it is now). */
  async latest(runId: string): Promise<Pick<PhaseRecord, "name" | "iteration" | "status"> | undefined> {
    const { rows } = await this.db.query<Pick<PhaseRecord, "name" | "iteration" | "status">>(
      "SELECT name, iteration, status FROM phases WHERE run_id = $1 ORDER BY id DESC LIMIT 1",
      [runId],
    );
    return rows[0];
  }

  /**
   * `/approve`: the new run's copied gate checkpoint says ready, and who overrode it. Only a run
   * no worker has taken yet (queued, never claimed) is changed: never an active run's gate.
   * Returns whether it was.
   */
  async approveGate(runId: string, login: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE phases SET output = jsonb_set(output, '{verdict,ready}', 'true'::jsonb) || jsonb_build_object('approved_by', $2::text)
       WHERE run_id = $1 AND name = 'gate' AND status = 'succeeded'
         AND EXISTS (SELECT 1 FROM runs WHERE id = $1 AND status = 'queued' AND heartbeat_at IS NULL)
       RETURNING id`,
      [runId, login],
    );
    return rows.length > 0;
  }
}
