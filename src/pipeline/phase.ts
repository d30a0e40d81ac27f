/**
 * The one phase wrapper. Every phase of a run goes through `PhaseRunner.run`, which
 *   - returns the stored output when this phase and iteration already succeeded (a resumed run
 *     does not redo, or pay for, finished work),
 *   - stops before starting when the run was cancelled,
 *   - records an attempt row in `phases` (status, output, error, timing),
 *   - tells the progress display what changed,
 * so no phase repeats this bookkeeping. Costs are not copied here: the ledger attributes every
 * model call to its run, phase and iteration, and reports read it from there.
 */
import type { Logger } from "pino";
import type { Database } from "../db/database.js";

export class RunCancelled extends Error {
  override name = "RunCancelled";
}

export interface PhaseRecord {
  name: string;
  iteration: number;
  attempt: number;
  status: "running" | "succeeded" | "failed" | "cancelled";
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export interface PhaseResult<T> {
  value: T;
  /** True when the output came from a checkpoint of an earlier attempt. */
  restored: boolean;
}

export class PhaseRunner {
  constructor(
    private readonly db: Database,
    private readonly runId: string,
    private readonly log: Logger,
    private readonly options: { signal?: AbortSignal; onChange?: () => Promise<void> } = {},
  ) {}

  async checkpoint<T>(name: string, iteration: number): Promise<T | undefined> {
    const { rows } = await this.db.query<{ output: T }>(
      "SELECT output FROM phases WHERE run_id = $1 AND name = $2 AND iteration = $3 AND status = 'succeeded' ORDER BY attempt DESC LIMIT 1",
      [this.runId, name, iteration],
    );
    return rows[0]?.output;
  }

  async run<T>(name: string, iteration: number, fn: () => Promise<T>): Promise<PhaseResult<T>> {
    const stored = await this.checkpoint<T>(name, iteration);
    if (stored !== undefined) {
      this.log.info({ phase: name, iteration }, "phase already done: its checkpoint is used");
      return { value: stored, restored: true };
    }
    if (this.options.signal?.aborted) throw new RunCancelled(`the run was cancelled before ${name}`);
    const { rows } = await this.db.query<{ id: number; attempt: number }>(
      `INSERT INTO phases (run_id, name, iteration, attempt, status)
       SELECT $1, $2, $3, coalesce(max(attempt), 0) + 1, 'running' FROM phases WHERE run_id = $1 AND name = $2 AND iteration = $3
       RETURNING id, attempt`,
      [this.runId, name, iteration],
    );
    const { id, attempt } = rows[0]!;
    // an attempt left `running` was cut off by a worker that died: say so
    await this.db.query(
      "UPDATE phases SET status = 'failed', error = 'interrupted: the worker running it stopped', finished_at = now() WHERE run_id = $1 AND name = $2 AND iteration = $3 AND attempt < $4 AND status = 'running'",
      [this.runId, name, iteration, attempt],
    );
    if (iteration > 0) await this.db.query("UPDATE runs SET iterations = greatest(iterations, $2), updated_at = now() WHERE id = $1", [this.runId, iteration]);
    const log = this.log.child({ phase: name, iteration, attempt });
    log.info("phase started");
    await this.#changed();
    const started = Date.now();
    try {
      const value = await fn();
      await this.db.query("UPDATE phases SET status = 'succeeded', output = $2, finished_at = now() WHERE id = $1", [id, JSON.stringify(value ?? null)]);
      log.info({ ms: Date.now() - started }, "phase succeeded");
      await this.#changed();
      return { value, restored: false };
    } catch (error) {
      const cancelled = this.options.signal?.aborted || error instanceof RunCancelled;
      const message = error instanceof Error ? error.message : String(error);
      await this.db.query("UPDATE phases SET status = $2, error = $3, finished_at = now() WHERE id = $1", [id, cancelled ? "cancelled" : "failed", message]);
      log[cancelled ? "info" : "warn"]({ ms: Date.now() - started, err: error }, cancelled ? "phase cancelled" : "phase failed");
      await this.#changed();
      if (cancelled && !(error instanceof RunCancelled)) throw new RunCancelled(`the run was cancelled during ${name}`);
      throw error;
    }
  }

  async phases(): Promise<PhaseRecord[]> {
    const { rows } = await this.db.query<PhaseRecord>(
      "SELECT name, iteration, attempt, status, error, started_at, finished_at FROM phases WHERE run_id = $1 ORDER BY id",
      [this.runId],
    );
    return rows;
  }

  async #changed(): Promise<void> {
    try {
      await this.options.onChange?.();
    } catch (error) {
      this.log.warn({ err: error }, "the progress display could not be updated");
    }
  }
}
