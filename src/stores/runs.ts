/** The `runs` table: one row per run of an issue, from its gate to its outcome. */
import type { Database } from "../db/database.js";

export type RunStatus = "queued" | "running" | "needs_spec" | "succeeded" | "draft" | "stopped" | "failed" | "cancelled";

export interface NewRun {
  deliveryId: string;
  installationId: number;
  repositoryId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  budgetUsdMicros: number;
  /** `revise`: a revision of the issue's PR, started by reviews. */
  kind?: "issue" | "revise";
  /** Who authorised it: the labeller with write access, the `/approve`r or `/retry`er, the reviewers. */
  authorizedBy?: string;
  /** The label event it consumes (GitHub's issue event id): one run per label event, ever. */
  labelEventId?: number;
}

export interface RunRow {
  id: string;
  kind: "issue" | "revise";
  created_at: Date;
  status: RunStatus;
  delivery_id: string | null;
  owner: string;
  repo: string;
  issue_number: number;
  budget_usd_micros: number | null;
  pr_number: number | null;
  /** How many times the run was taken over from a worker whose heartbeat stopped. */
  restarts: number;
  /** Who authorised it (NULL for runs from before this was recorded). */
  authorized_by: string | null;
}

export type CreateRunResult =
  | { created: true; run: RunRow }
  /** This delivery already made its run (a retried job). */
  | { created: false; reason: "duplicate"; run: RunRow }
  /** The label event already started a run, which has ended. */
  | { created: false; reason: "consumed"; run: RunRow }
  /** Another run of the same issue is queued or running. */
  | { created: false; reason: "active"; run: RunRow };

/**
 * How many times a run is taken over after its worker stopped: once. A worker that stops twice
 * on the same run was most likely stopped by it (a setup that exhausted the machine, a crash it
 * causes), and resuming it again would only stop the next worker, and with it every other run of
 * the process. The take-over past this one only says so (src/jobs/run-sweep.ts).
 */
export const MAX_RESTARTS = 1;

/** Why a run past MAX_RESTARTS is failed, for the issue and the run's record. */
export const STOPPED_TWICE =
  "its worker stopped twice while running it (a crash, or a command that exhausted the machine): it is not resumed again; `/retry` starts it anew";

/** The reason a run at take-over number `restarts` may not go on, or undefined when it may. */
export function notResumed(restarts: number): string | undefined {
  return restarts > MAX_RESTARTS ? STOPPED_TWICE : undefined;
}

const COLUMNS =
  "id, kind, status, delivery_id, owner, repo, issue_number, budget_usd_micros, pr_number, restarts, authorized_by, created_at";

/** A run with what it cost so far (the PR body's table of every run behind a PR). */
export interface RunCost {
  id: string;
  kind: string;
  status: string;
  created_at: Date;
  micros: number;
  unknown: number;
}

export class RunStore {
  constructor(private readonly db: Database) {}

  async create(r: NewRun): Promise<CreateRunResult> {
    const inserted = await this.db.query<RunRow>(
      `INSERT INTO runs (delivery_id, installation_id, repository_id, owner, repo, issue_number, budget_usd_micros, kind, authorized_by,
                         label_event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        r.deliveryId,
        r.installationId,
        r.repositoryId,
        r.owner,
        r.repo,
        r.issueNumber,
        r.budgetUsdMicros,
        r.kind ?? "issue",
        r.authorizedBy ?? null,
        r.labelEventId ?? null,
      ],
    );
    if (inserted.rows[0]) return { created: true, run: inserted.rows[0] };
    // this delivery's run, else the active run in the way, else the run that consumed the label event
    const { rows } = await this.db.query<RunRow & { by_label: boolean }>(
      `SELECT ${COLUMNS}, (label_event_id IS NOT DISTINCT FROM $4 AND $4 IS NOT NULL) AS by_label FROM runs
       WHERE delivery_id = $1 OR (repository_id = $2 AND (issue_number = $3 AND status IN ('queued', 'running') OR label_event_id = $4))
       ORDER BY (delivery_id = $1) DESC NULLS LAST, (status IN ('queued', 'running')) DESC LIMIT 1`,
      [r.deliveryId, r.repositoryId, r.issueNumber, r.labelEventId ?? null],
    );
    const found = rows[0];
    if (!found) throw new Error(`run for delivery ${r.deliveryId} was neither created nor found`);
    const { by_label: byLabel, ...run } = found;
    if (run.delivery_id === r.deliveryId) return { created: false, reason: "duplicate", run };
    return { created: false, reason: ["queued", "running"].includes(run.status) || !byLabel ? "active" : "consumed", run };
  }

  async setStatus(id: string, status: RunStatus, fields: { ticketType?: string; error?: string } = {}): Promise<void> {
    const terminal = !["queued", "running"].includes(status);
    await this.db.query(
      `UPDATE runs SET status = $2, ticket_type = coalesce($3, ticket_type), error = coalesce($4, error), updated_at = now(),
              started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
              finished_at = CASE WHEN $5 THEN now() ELSE finished_at END
       WHERE id = $1 AND status <> 'cancelled' -- a cancelled run stays cancelled
      `,
      [id, status, fields.ticketType ?? null, fields.error ?? null, terminal],
    );
  }

  /** The pull request a run opened or updated. */
  async setPullRequest(id: string, prNumber: number): Promise<void> {
    await this.db.query("UPDATE runs SET pr_number = $2, pr_state = 'open', updated_at = now() WHERE id = $1", [id, prNumber]);
  }

  /** The run's budget, set by `/budget`. */
  async setBudget(id: string, micros: number): Promise<void> {
    await this.db.query("UPDATE runs SET budget_usd_micros = $2, updated_at = now() WHERE id = $1", [id, micros]);
  }

  /** The newest run of an issue, whatever its state. */
  async latest(repositoryId: number, issueNumber: number): Promise<RunRow | undefined> {
    const { rows } = await this.db.query<RunRow>(
      `SELECT ${COLUMNS} FROM runs
       WHERE repository_id = $1 AND issue_number = $2 ORDER BY created_at DESC LIMIT 1`,
      [repositoryId, issueNumber],
    );
    return rows[0];
  }

  /** The issue whose run opened pull request `prNumber` in this repository, if Tollgate opened it. */
  async issueOfPullRequest(repositoryId: number, prNumber: number): Promise<number | undefined> {
    const { rows } = await this.db.query<{ issue_number: number }>(
      "SELECT issue_number FROM runs WHERE repository_id = $1 AND pr_number = $2 ORDER BY created_at DESC LIMIT 1",
      [repositoryId, prNumber],
    );
    return rows[0]?.issue_number;
  }

  /** The issue's newest run in which `phase` succeeded (the run to reuse it from), if any. */
  async lastWithPhase(repositoryId: number, issueNumber: number, phase: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ run_id: string }>(
      `SELECT p.run_id FROM phases p JOIN runs r ON r.id = p.run_id
       WHERE r.repository_id = $1 AND r.issue_number = $2 AND p.name = $3 AND p.status = 'succeeded'
       ORDER BY p.finished_at DESC LIMIT 1`,
      [repositoryId, issueNumber, phase],
    );
    return rows[0]?.run_id;
  }

  /**
   * Gives run `to` the checkpoints of `from`'s succeeded phases named in `names` (their latest
   * attempt), so that it starts after them: `/retry execute` reuses the gate and the plan. Only a
   * run no worker has taken yet (queued, never claimed) receives them: an active run's phases
   * are never changed from outside.
   */
  async copyCheckpoints(from: string, to: string, names: string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ name: string }>(
      `INSERT INTO phases (run_id, name, iteration, attempt, status, output, started_at, finished_at)
       SELECT DISTINCT ON (name, iteration) $2::uuid, name, iteration, 1, 'succeeded', output, now(), now()
       FROM phases WHERE run_id = $1 AND status = 'succeeded' AND name = ANY($3::text[])
         AND EXISTS (SELECT 1 FROM runs WHERE id = $2::uuid AND status = 'queued' AND heartbeat_at IS NULL)
       ORDER BY name, iteration, attempt DESC
       ON CONFLICT (run_id, name, iteration, attempt) DO NOTHING
       RETURNING name`,
      [from, to, names],
    );
    return rows.map((r) => r.name);
  }

  /**
   * How many gate runs edits of the issue started in the last `seconds` (the runs whose delivery
   * was an `issues.edited`): the edit re-gates' rate limit.
   */
  async editGatesSince(repositoryId: number, issueNumber: number, seconds: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM runs r JOIN deliveries d ON d.id = r.delivery_id
       WHERE r.repository_id = $1 AND r.issue_number = $2 AND d.event = 'issues' AND d.action = 'edited'
         AND r.created_at > now() - make_interval(secs => $3)`,
      [repositoryId, issueNumber, seconds],
    );
    return rows[0]!.n;
  }

  /** What became of the PR: merged or closed (the runs that made it keep the record). */
  async setPullRequestState(repositoryId: number, prNumber: number, state: "closed" | "merged"): Promise<number> {
    const { rows } = await this.db.query(
      "UPDATE runs SET pr_state = $3, pr_closed_at = now(), updated_at = now() WHERE repository_id = $1 AND pr_number = $2 RETURNING id",
      [repositoryId, prNumber, state],
    );
    return rows.length;
  }

  /** The queued or running run of an issue, if any. */
  async active(repositoryId: number, issueNumber: number): Promise<RunRow | undefined> {
    const { rows } = await this.db.query<RunRow>(
      `SELECT ${COLUMNS} FROM runs
       WHERE repository_id = $1 AND issue_number = $2 AND status IN ('queued', 'running')`,
      [repositoryId, issueNumber],
    );
    return rows[0];
  }

  async get(id: string): Promise<RunRow | undefined> {
    const { rows } = await this.db.query<RunRow>(`SELECT ${COLUMNS} FROM runs WHERE id = $1`, [id]);
    return rows[0];
  }

  /**
   * A local run (`tollgate run`, `tollgate eval`), running under `lease` with its heartbeat started:
   * installation 0, a repository id from its path (`repositoryId`), and an issue number of its own
   * per `issueKey` (the issue file, or the eval task), the same each time. Local runs whose process
   * stopped (no heartbeat for `staleSeconds`: a crash, a kill, or a run from before local runs beat)
   * are closed as failed first, so they never block this one. A live run of the same issue is
   * returned instead of a new one.
   */
  async createLocal(r: {
    repo: string;
    repositoryId: number;
    issueKey: string;
    budgetUsdMicros: number;
    lease: string;
    staleSeconds: number;
  }): Promise<{ run: RunRow; closed: string[] } | { active: RunRow }> {
    const closed = await this.db.query<{ id: string }>(
      `UPDATE runs SET status = 'failed', finished_at = now(), updated_at = now(),
         error = coalesce(error, 'interrupted: the process that ran it stopped (Ctrl-C, a crash or a kill) before it ended')
       WHERE installation_id = 0 AND status IN ('queued', 'running')
         AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $1))
       RETURNING id`,
      [r.staleSeconds],
    );
    const { rows } = await this.db.query<RunRow>(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, local_issue, status, budget_usd_micros,
                         started_at, lease, heartbeat_at)
       VALUES (0, $1, 'local', $2,
               coalesce((SELECT min(issue_number) FROM runs WHERE repository_id = $1 AND local_issue = $3),
                        (SELECT coalesce(max(issue_number), 0) + 1 FROM runs WHERE repository_id = $1 AND installation_id = 0)),
               $3, 'running', $4, now(), $5, now())
       ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      [r.repositoryId, r.repo, r.issueKey, r.budgetUsdMicros, r.lease],
    );
    if (rows[0]) return { run: rows[0], closed: closed.rows.map((c) => c.id) };
    const active = await this.db.query<RunRow>(
      `SELECT ${COLUMNS} FROM runs WHERE repository_id = $1 AND local_issue = $2 AND status IN ('queued', 'running') LIMIT 1`,
      [r.repositoryId, r.issueKey],
    );
    if (!active.rows[0]) throw new Error(`the local run of ${r.issueKey} was neither created nor found`);
    return { active: active.rows[0] };
  }

  /** The ids of the runs still queued or running (their folders are kept). */
  async activeIds(): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>("SELECT id FROM runs WHERE status IN ('queued', 'running')");
    return rows.map((r) => r.id);
  }

  /** These runs, oldest first, each with its known cost and its calls of unknown cost. */
  async withCosts(runIds: string[]): Promise<RunCost[]> {
    const { rows } = await this.db.query<RunCost>(
      `SELECT r.id, r.kind, r.status, r.created_at, coalesce(sum(c.cost_usd_micros), 0)::bigint AS micros,
              count(c.id) FILTER (WHERE c.cost_usd_micros IS NULL)::int AS unknown
       FROM runs r LEFT JOIN llm_calls c ON c.run_id = r.id WHERE r.id = ANY($1::uuid[])
       GROUP BY r.id ORDER BY r.created_at`,
      [runIds],
    );
    return rows.map((r) => ({ ...r, micros: Number(r.micros), unknown: Number(r.unknown) }));
  }

  /**
   * A worker takes the run to carry it out, as restart `restart` of its job: it holds the lease
   * and starts the heartbeat. Undefined when the run ended, or a newer restart took it over.
   */
  async claim(id: string, lease: string, restart: number): Promise<RunRow | undefined> {
    const { rows } = await this.db.query<RunRow>(
      `UPDATE runs SET lease = $2, heartbeat_at = now(), updated_at = now()
       WHERE id = $1 AND restarts = $3 AND status IN ('queued', 'running')
       RETURNING ${COLUMNS}`,
      [id, lease, restart],
    );
    return rows[0];
  }

  /**
   * The heartbeat of the worker holding `lease`: the run's row as it is now (a cancel, a raised
   * budget), or undefined when the lease is no longer this worker's (the run was taken over).
   */
  async beat(id: string, lease: string): Promise<RunRow | undefined> {
    const { rows } = await this.db.query<RunRow>(`UPDATE runs SET heartbeat_at = now() WHERE id = $1 AND lease = $2 RETURNING ${COLUMNS}`, [
      id,
      lease,
    ]);
    return rows[0];
  }

  /**
   * Takes over the app's running runs whose heartbeat is older than `staleSeconds` (a local run's
   * process is gone with it: the next local run closes it, `createLocal`): each gets a new
   * restart number and loses its lease (so a worker still holding it, alive but stalled, stops).
   * Returns them with their new restart number, for a new job each.
   */
  async takeOverStale(staleSeconds: number): Promise<Array<{ id: string; restarts: number }>> {
    const { rows } = await this.db.query<{ id: string; restarts: number }>(
      `UPDATE runs SET restarts = restarts + 1, lease = NULL, heartbeat_at = now(), updated_at = now()
       WHERE status = 'running' AND heartbeat_at IS NOT NULL AND heartbeat_at < now() - make_interval(secs => $1)
         AND installation_id <> 0
       RETURNING id, restarts`,
      [staleSeconds],
    );
    return rows;
  }

  /** Fails the run this delivery made while it is still in its gate (running, and no worker has claimed it). */
  async failGate(deliveryId: string, error: string): Promise<void> {
    await this.db.query(
      `UPDATE runs SET status = 'failed', error = coalesce(error, $2), finished_at = now(), updated_at = now()
       WHERE delivery_id = $1 AND status = 'running' AND lease IS NULL`,
      [deliveryId, error],
    );
  }

  /** Marks the run failed, unless a newer restart than `restart` has taken it over. */
  async failIfCurrent(id: string, restart: number, error: string): Promise<void> {
    await this.db.query(
      `UPDATE runs SET status = 'failed', error = coalesce($3, error), finished_at = now(), updated_at = now()
       WHERE id = $1 AND restarts = $2 AND status IN ('queued', 'running')`,
      [id, restart, error],
    );
  }
}
