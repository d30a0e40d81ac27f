/**
 * Reads of the job queue's own tables (pg-boss's `pgboss.job`): counts for `/health`, a run's
 * place in line, and the jobs left active by a process that stopped. Writes go through pg-boss.
 */
import type { Database } from "../db/database.js";
import type { QueueName } from "../queue/jobs.js";

export interface QueueStats {
  name: string;
  queued: number;
  active: number;
  failed: number;
  /** Of the queued, those due now that no worker has taken yet (a retry waiting out its delay is not), and the oldest one's wait. */
  waiting: number;
  oldestWaitingSeconds: number | null;
}

/**
 * pg-boss's name of each queue, as src/queue/jobs.ts's `QUEUE` has them (the compiler holds the
 * two lists equal): spelled out, not imported, since the queue reads through this store and an
 * import back would tie the two folders in a loop.
 */
const QUEUES: Record<QueueName, true> = {
  "tollgate-trigger": true,
  "tollgate-command": true,
  "tollgate-revise": true,
  "tollgate-run": true,
  "tollgate-dead": true,
};
const ALL = Object.keys(QUEUES) as QueueName[];
const RUN: QueueName = "tollgate-run";
const QUEUED = ["created", "retry"];

export class QueueInspection {
  constructor(private readonly db: Database) {}

  /** Jobs per queue and state, and each queue's backlog, in one query. */
  async stats(): Promise<QueueStats[]> {
    const { rows } = await this.db.query<{ name: string; state: string; n: number; due: number; oldest: number | null }>(
      `SELECT name, state, count(*)::int AS n, count(*) FILTER (WHERE start_after <= now())::int AS due,
         extract(epoch FROM now() - min(start_after) FILTER (WHERE start_after <= now()))::float8 AS oldest
       FROM pgboss.job WHERE name = ANY($1) GROUP BY name, state`,
      [ALL],
    );
    return ALL.map((name) => {
      const of = (states: string[]) => rows.filter((r) => r.name === name && states.includes(r.state));
      const count = (...states: string[]) => of(states).reduce((sum, r) => sum + Number(r.n), 0);
      const oldest = of(QUEUED).reduce<number | null>(
        (max, r) => (r.oldest === null ? max : Math.max(max ?? 0, Math.round(r.oldest))),
        null,
      );
      const waiting = of(QUEUED).reduce((sum, r) => sum + Number(r.due), 0);
      return { name, queued: count(...QUEUED), active: count("active"), failed: count("failed"), waiting, oldestWaitingSeconds: oldest };
    });
  }

  /** How many run jobs are due and not yet taken by a worker: the line a ready run joins. */
  async waitingRuns(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry') AND start_after <= now()",
      [RUN],
    );
    return rows[0]?.n ?? 0;
  }

  /** How many due run jobs wait ahead of this one (0 when it is next, or a worker already has it). */
  async runsAhead(jobId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job j,
         (SELECT created_on FROM pgboss.job WHERE name = $2 AND id = $1 AND state IN ('created', 'retry')) me
       WHERE j.name = $2 AND j.state IN ('created', 'retry') AND j.start_after <= now() AND j.created_on < me.created_on`,
      [jobId, RUN],
    );
    return rows[0]?.n ?? 0;
  }

  /** The ids of a queue's active jobs. */
  async activeIds(name: QueueName): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>("SELECT id FROM pgboss.job WHERE name = $1 AND state = 'active'", [name]);
    return rows.map((r) => r.id);
  }
}
