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
   * Records a delivery. Returns `"new"` the first time; `"pending"` when it was recorded but its
   * job was never confirmed as sent (a crash, or a concurrent copy in flight), so the caller sends
   * again (the job id makes that safe); `"seen"` when there is nothing left to do.
   */
  async record(d: Delivery): Promise<"new" | "pending" | "seen"> {
    const inserted = await this.db.query(
      `INSERT INTO deliveries (id, event, action, installation_id, repository, sender)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [d.id, d.event, d.action ?? null, d.installationId ?? null, d.repository ?? null, d.sender ?? null],
    );
    if (inserted.rows.length > 0) return "new";
    const { rows } = await this.db.query<{ status: string }>("SELECT status FROM deliveries WHERE id = $1", [d.id]);
    return rows[0]?.status === "received" ? "pending" : "seen";
  }

  async markEnqueued(id: string, jobId: string): Promise<void> {
    await this.db.query(
      "UPDATE deliveries SET status = 'enqueued', job_id = $2 WHERE id = $1 AND status = 'received'",
      [id, jobId],
    );
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
