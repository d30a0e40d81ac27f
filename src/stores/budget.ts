/**
 * The `budget_reservations` and `installation_caps` tables. A model call's worst case is
 * reserved before it is made, under a lock that every worker respects, against what was spent
 * (the ledger, where a call of unknown cost counts as its reservation) plus what is in flight;
 * the call's ledger row settles it (src/stores/ledger.ts).
 */
import type { Database, Queryable } from "../db/database.js";

export interface SpendScope {
  runId?: string;
  installationId?: number;
  phase: string;
  /** Where the day starts (UTC midnight). */
  since: Date;
}

/** Spent plus in flight, in micro-dollars, for each cap's scope. */
export interface Committed {
  run: number;
  phase: number;
  daily: number;
}

/** The operator's caps for one installation, when set with `tollgate caps`. */
export interface InstallationCaps {
  installationId: number;
  dailyMicros: number | null;
  runMicros: number | null;
}

export class BudgetStore {
  constructor(private readonly db: Database) {}

  /**
   * Reserves `micros` when `allow(committed, caps)` does not throw, atomically: the check and the
   * reservation hold one lock per installation (per run without one), so concurrent calls see
   * each other. Returns the reservation's id.
   */
  async reserve(
    scope: SpendScope,
    micros: number,
    allow: (committed: Committed, caps: InstallationCaps | undefined) => void,
  ): Promise<number> {
    return this.db.transaction(async (tx) => {
      const key = `tollgate-budget:${scope.installationId ?? scope.runId ?? "local"}`;
      await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
      allow(await committed(tx, scope), await capsOf(tx, scope.installationId));
      const { rows } = await tx.query<{ id: number }>(
        "INSERT INTO budget_reservations (run_id, installation_id, phase, micros) VALUES ($1, $2, $3, $4) RETURNING id",
        [scope.runId ?? null, scope.installationId ?? null, scope.phase, micros],
      );
      return Number(rows[0]!.id);
    });
  }

  /** What an installation has spent or has in flight since `since` (its day, for the daily cap). */
  async committedToday(installationId: number, since: Date): Promise<number> {
    return (await committed(this.db, { installationId, phase: "", since })).daily;
  }

  /** A reservation for a call that was not made after all. */
  async release(id: number): Promise<void> {
    await this.db.query("DELETE FROM budget_reservations WHERE id = $1", [id]);
  }

  /** What is reserved and not settled (calls in flight, or cut off by a dying worker). */
  async open(filter: { runId?: string } = {}): Promise<number> {
    const { rows } = await this.db.query<{ micros: number }>(
      "SELECT coalesce(sum(micros), 0)::bigint AS micros FROM budget_reservations WHERE $1::uuid IS NULL OR run_id = $1",
      [filter.runId ?? null],
    );
    return Number(rows[0]!.micros);
  }

  async caps(installationId: number): Promise<InstallationCaps | undefined> {
    return capsOf(this.db, installationId);
  }

  async allCaps(): Promise<InstallationCaps[]> {
    const { rows } = await this.db.query<CapsRow>(
      "SELECT installation_id, daily_usd_micros, run_usd_micros FROM installation_caps ORDER BY installation_id",
    );
    return rows.map(toCaps);
  }

  /** Sets an installation's caps (null: the environment's default); both null removes the row. */
  async setCaps(caps: InstallationCaps): Promise<void> {
    if (caps.dailyMicros === null && caps.runMicros === null) {
      await this.db.query("DELETE FROM installation_caps WHERE installation_id = $1", [caps.installationId]);
      return;
    }
    await this.db.query(
      `INSERT INTO installation_caps (installation_id, daily_usd_micros, run_usd_micros) VALUES ($1, $2, $3)
       ON CONFLICT (installation_id) DO UPDATE SET daily_usd_micros = $2, run_usd_micros = $3, updated_at = now()`,
      [caps.installationId, caps.dailyMicros, caps.runMicros],
    );
  }
}

interface CapsRow {
  installation_id: number;
  daily_usd_micros: number | null;
  run_usd_micros: number | null;
}

const toCaps = (r: CapsRow): InstallationCaps => ({
  installationId: Number(r.installation_id),
  dailyMicros: r.daily_usd_micros === null ? null : Number(r.daily_usd_micros),
  runMicros: r.run_usd_micros === null ? null : Number(r.run_usd_micros),
});

async function capsOf(q: Queryable, installationId: number | undefined): Promise<InstallationCaps | undefined> {
  if (installationId === undefined) return undefined;
  const { rows } = await q.query<CapsRow>(
    "SELECT installation_id, daily_usd_micros, run_usd_micros FROM installation_caps WHERE installation_id = $1",
    [installationId],
  );
  return rows[0] && toCaps(rows[0]);
}

/** Spent (a call of unknown cost counts as its reservation) plus reserved, for the run, its phase, and the installation's day. */
async function committed(q: Queryable, scope: SpendScope): Promise<Committed> {
  const { rows } = await q.query<{ run: number; phase: number; daily: number }>(
    `WITH calls AS (
       SELECT run_id, installation_id, phase, created_at, coalesce(cost_usd_micros, reserved_usd_micros, 0) AS micros FROM llm_calls
       WHERE run_id = $1 OR (installation_id = $3 AND created_at >= $4)
       UNION ALL
       SELECT run_id, installation_id, phase, created_at, micros FROM budget_reservations
       WHERE run_id = $1 OR (installation_id = $3 AND created_at >= $4)
     )
     SELECT coalesce(sum(micros) FILTER (WHERE run_id = $1), 0)::bigint AS run,
            coalesce(sum(micros) FILTER (WHERE run_id = $1 AND phase = $2), 0)::bigint AS phase,
            coalesce(sum(micros) FILTER (WHERE installation_id = $3 AND created_at >= $4), 0)::bigint AS daily
     FROM calls`,
    [scope.runId ?? null, scope.phase, scope.installationId ?? null, scope.since.toISOString()],
  );
  const r = rows[0]!;
  return { run: Number(r.run), phase: Number(r.phase), daily: Number(r.daily) };
}
