/**
 * The `refusals` table: answers Tollgate gives at most once per window on an issue, to a person
 * without access (subject: their login) or a notice such as the gate's rate limit (subject:
 * `:gate-limit`). Every refusal is counted, whether or not it is answered.
 */
import type { Database } from "../db/database.js";

/** A refusal is answered at most once per person per issue in this many seconds. */
export const REFUSAL_ANSWER_SECONDS = 60 * 60;

export interface RefusalKey {
  repositoryId: number;
  issueNumber: number;
  /** A login, or a notice's name starting with `:` (no login can). */
  subject: string;
}

export class RefusalStore {
  constructor(private readonly db: Database) {}

  /**
   * Records a refusal and says whether to answer it: true for the first in `windowSeconds`
   * (atomically: of two at once, one is answered).
   */
  async record(key: RefusalKey, windowSeconds = REFUSAL_ANSWER_SECONDS): Promise<boolean> {
    const { rows } = await this.db.query<{ answer: boolean }>(
      `INSERT INTO refusals (repository_id, issue_number, subject) VALUES ($1, $2, $3)
       ON CONFLICT (repository_id, issue_number, subject) DO UPDATE
         SET refused = refusals.refused + 1, last_at = now(),
             answered_at = CASE WHEN refusals.answered_at <= now() - make_interval(secs => $4) THEN now() ELSE refusals.answered_at END
       RETURNING answered_at = now() AS answer`,
      [key.repositoryId, key.issueNumber, key.subject, windowSeconds],
    );
    return rows[0]?.answer === true;
  }

  /** How many refusals of `subject` on the issue were recorded, answered or not. */
  async count(key: RefusalKey): Promise<number> {
    const { rows } = await this.db.query<{ refused: number }>(
      "SELECT refused FROM refusals WHERE repository_id = $1 AND issue_number = $2 AND subject = $3",
      [key.repositoryId, key.issueNumber, key.subject],
    );
    return rows[0]?.refused ?? 0;
  }
}
