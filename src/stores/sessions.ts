/** The `dashboard_sessions` table: who signed in to the dashboard and what they may see. */
import { createHash } from "node:crypto";
import type { Database } from "../db/database.js";

export interface DashboardSession {
  login: string;
  userId: number;
  installations: number[];
  repositories: number[];
  expiresAt: Date;
}

const digest = (id: string) => createHash("sha256").update(id).digest("hex");

export class SessionStore {
  constructor(private readonly db: Database) {}

  async create(id: string, s: DashboardSession): Promise<void> {
    await this.db.query(
      `INSERT INTO dashboard_sessions (id_sha256, login, user_id, installations, repositories, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [digest(id), s.login, s.userId, JSON.stringify(s.installations), JSON.stringify(s.repositories), s.expiresAt.toISOString()],
    );
    // ended sessions go as new ones come: the table holds only live ones (and a few just ended)
    await this.db.query("DELETE FROM dashboard_sessions WHERE expires_at < now()");
  }

  /** The live session with this id, if any. */
  async get(id: string): Promise<DashboardSession | undefined> {
    const { rows } = await this.db.query<{
      login: string;
      user_id: string;
      installations: unknown;
      repositories: unknown;
      expires_at: string;
    }>(
      `SELECT login, user_id::text, installations, repositories, expires_at FROM dashboard_sessions
       WHERE id_sha256 = $1 AND expires_at > now()`,
      [digest(id)],
    );
    const r = rows[0];
    if (!r) return undefined;
    const list = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as number[];
    return {
      login: r.login,
      userId: Number(r.user_id),
      installations: list(r.installations),
      repositories: list(r.repositories),
      expiresAt: new Date(r.expires_at),
    };
  }

  async delete(id: string): Promise<void> {
    await this.db.query("DELETE FROM dashboard_sessions WHERE id_sha256 = $1", [digest(id)]);
  }
}
