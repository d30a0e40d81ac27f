import type { Database, Queryable } from "../db/database.js";

export interface Delivery {
  /** `X-GitHub-Delivery`: unique per event, unchanged when GitHub redelivers it. */
  id: string;
  event: string;
  action?: string;
  installationId?: number;
  repository?: string;
  sender?: string;
}

export type DeliveryOutcome = "done" | "ignored" | "failed";

/** The `deliveries` table: what Tollgate received and what became of it. */
export class DeliveryStore {
  constructor(private readonly db: Database) {}

  /**
   * Records a delivery with the id of the job it becomes. Returns `"seen"` only when the
   * delivery was already handled (done, ignored or failed); otherwise (new, recorded but not
   * finished, or being recorded by a concurrent copy) `"send"`: sending its job again is safe,
   * the job id makes the queue keep one.
   */
  async record(d: Delivery, jobId: string | null = null): Promise<"send" | "seen"> {
    const { rows } = await this.db.query<{ inserted: boolean; status: string | null }>(
      `WITH inserted AS (
         INSERT INTO deliveries (id, event, action, installation_id, repository, sender, job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id
       )
       SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, (SELECT status FROM deliveries WHERE id = $1) AS status`,
      [d.id, d.event, d.action ?? null, d.installationId ?? null, d.repository ?? null, d.sender ?? null, jobId],
    );
    const row = rows[0]!;
    return row.inserted || row.status === null || row.status === "received" ? "send" : "seen";
  }

  /**
   * `record()` for many deliveries in one statement (the webhook path's group commit): the answer
   * for each, in order. The same id twice in one call is recorded once; both are told "send",
   * and the job id keeps one job.
   */
  async recordMany(items: Array<{ delivery: Delivery; jobId: string }>): Promise<Array<"send" | "seen">> {
    if (items.length === 0) return [];
    const column = <T>(pick: (d: Delivery, jobId: string) => T) => items.map((i) => pick(i.delivery, i.jobId));
    const { rows } = await this.db.query<{ id: string; status: string | null }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::uuid[])
           AS t (id, event, action, installation_id, repository, sender, job_id)
       ), inserted AS (
         INSERT INTO deliveries (id, event, action, installation_id, repository, sender, job_id)
         SELECT * FROM input ON CONFLICT (id) DO NOTHING RETURNING id
       )
       SELECT input.id, d.status FROM input LEFT JOIN deliveries d ON d.id = input.id`,
      [
        column((d) => d.id),
        column((d) => d.event),
        column((d) => d.action ?? null),
        column((d) => d.installationId ?? null),
        column((d) => d.repository ?? null),
        column((d) => d.sender ?? null),
        column((_, jobId) => jobId),
      ],
    );
    // the join sees the table as it was before this statement: a new row has no status yet
    const seen = new Set(rows.filter((r) => r.status !== null && r.status !== "received").map((r) => r.id));
    return items.map((i) => (seen.has(i.delivery.id) ? "seen" : "send"));
  }

  /**
   * Records what became of a delivery. With `onlyIfOpen`, a delivery already finished keeps its
   * outcome. Returns false when no row was changed.
   */
  async finish(
    id: string,
    outcome: DeliveryOutcome,
    detail?: string,
    options: { onlyIfOpen?: boolean; tx?: Queryable } = {},
  ): Promise<boolean> {
    const { rows } = await (options.tx ?? this.db).query(
      `UPDATE deliveries SET status = $2, detail = $3, finished_at = now()
       WHERE id = $1 ${options.onlyIfOpen ? "AND status = 'received'" : ""} RETURNING id`,
      [id, outcome, detail ?? null],
    );
    return rows.length > 0;
  }

  /** Which of these delivery ids Tollgate has recorded, whatever became of them. */
  async recorded(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.db.query<{ id: string }>("SELECT id FROM deliveries WHERE id = ANY($1::text[])", [ids]);
    return new Set(rows.map((r) => r.id));
  }

  async get(id: string) {
    const { rows } = await this.db.query<{
      id: string;
      event: string;
      status: string;
      detail: string | null;
      job_id: string | null;
    }>("SELECT id, event, status, detail, job_id FROM deliveries WHERE id = $1", [id]);
    return rows[0];
  }
}
