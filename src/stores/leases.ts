import type { Database } from "../db/database.js";

/** The `leases` table: work one process of a deployment does for all (migration 0012). */
export class LeaseStore {
  constructor(private readonly db: Database) {}

  /** Takes the lease for `seconds` unless it is held still (by anyone, this holder too); true when taken. */
  async claim(name: string, holder: string, seconds: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO leases (name, holder, held_until) VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, held_until = EXCLUDED.held_until
       WHERE leases.held_until < now()
       RETURNING holder`,
      [name, holder, seconds],
    );
    return rows.length > 0;
  }

  /** Keeps the lease `seconds` from now (and no longer), if `holder` still has it. */
  async hold(name: string, holder: string, seconds: number): Promise<void> {
    await this.db.query("UPDATE leases SET held_until = now() + make_interval(secs => $3) WHERE name = $1 AND holder = $2", [
      name,
      holder,
      seconds,
    ]);
  }
}
