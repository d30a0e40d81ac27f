/** The `comment_commands` table: every comment command, who gave it, and what became of it. */
import type { Database } from "../db/database.js";

export interface CommandRecord {
  deliveryId: string;
  installationId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  commentId: number;
  sender: string;
  /** The command line as written (cut to 200 characters). */
  line: string;
  runId?: string;
  outcome: "done" | "refused" | "invalid";
  detail: string;
}

export class CommentCommandStore {
  constructor(private readonly db: Database) {}

  /** Records a command once per delivery (a retried job does not record it twice). */
  async record(c: CommandRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO comment_commands (delivery_id, installation_id, owner, repo, issue_number, comment_id, sender, command, run_id, outcome, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (delivery_id) DO NOTHING`,
      [
        c.deliveryId,
        c.installationId,
        c.owner,
        c.repo,
        c.issueNumber,
        c.commentId,
        c.sender,
        c.line.slice(0, 200),
        c.runId ?? null,
        c.outcome,
        c.detail,
      ],
    );
  }
}
