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
   * Records a delivery with the id of the job it becomes, in one statement. Returns `"new"` the
   * first time; `"pending"` when it was recorded but not finished yet (its job may not have been
   * sent: a crash, or a concurrent copy in flight), so the caller sends again, which the job id
   * makes safe; `"seen"` when the delivery was already handled.
   */
  async record(d: Delivery, jobId: string | null = null): Promise<"new" | "pending" | "seen"> {
    const { rows } = await this.db.query<{ inserted: boolean; status: string | null }>(
      `WITH inserted AS (
         INSERT INTO deliveries (id, event, action, installation_id, repository, sender, job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id
       )
       SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, (SELECT status FROM deliveries WHERE id = $1) AS status`,
      [d.id, d.event, d.action ?? null, d.installationId ?? null, d.repository ?? null, d.sender ?? null, jobId],
    );
    const row = rows[0]!;
    if (row.inserted) return "new";
    return row.status === "received" ? "pending" : "seen";
  }

  async finish(id: string, outcome: DeliveryOutcome, detail?: string, tx: Queryable = this.db): Promise<void> {
    await tx.query("UPDATE deliveries SET status = $2, detail = $3, finished_at = now() WHERE id = $1", [
      id,
      outcome,
      detail ?? null,
    ]);
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
