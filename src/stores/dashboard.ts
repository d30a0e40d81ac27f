/**
 * What the dashboard's overview reads. Sums come from the pre-aggregates (migration 0010:
 * `ledger_daily` and each run's own sums), never from a scan of `llm_calls`, so the overview of
 * 30 days stays fast at millions of calls. Every query takes the reader's `Access`: a person sees
 * only the repositories they can reach on GitHub.
 */
import type { Database } from "../db/database.js";

/** Who is reading: the operator (everything) or a person (their installations and repositories). */
export type Access = { all: true; who: string } | { all: false; who: string; installations: number[]; repositories: number[] };

/** A `WHERE` term limiting `column` (a repository id) to the reader's repositories. */
export function scoped(access: Access, column: string, params: unknown[]): string {
  if (access.all) return "TRUE";
  params.push(access.repositories);
  return `${column} = ANY($${params.length}::bigint[])`;
}

export interface DayValue {
  day: string;
  key: string;
  micros: number;
}

export interface ModelDay {
  day: string;
  model: string;
  calls: number;
  input: number;
  cacheWrite: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
  costMicros: number;
  unknownCost: number;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);

/** The overview's ledger figures, from one pass over `ledger_daily`. */
export interface LedgerSums {
  byRepository: DayValue[];
  byPhase: DayValue[];
  /** Token sums per day and model (the by-model chart, the windows, caching and tiering). */
  modelDays: ModelDay[];
  /** Calls per phase and model (which model the deep tier's phases used). */
  phaseModels: Array<{ phase: string; model: string; calls: number }>;
  /** Today's known spend per installation. */
  todayByInstallation: Map<number, number>;
  /** The installations with calls in the period. */
  installations: number[];
}

/** The overview's run figures, from one pass over the period's runs. */
export interface RunSums {
  byTicketType: DayValue[];
  outcomes: Array<{ status: string; runs: number }>;
  gate: Array<{ ticketType: string; heldBack: number; gateMicros: number; medianMicros: number | null; finishedRuns: number }>;
}

type Row = Record<string, string | null>;

export class DashboardStore {
  constructor(private readonly db: Database) {}

  /**
   * Every sum the overview needs from the ledger since `since`, in one scan of the period's
   * `ledger_daily` rows (grouping sets: one result row per day and key, not per aggregate row).
   */
  async ledgerSums(access: Access, since: Date, today: Date): Promise<LedgerSums> {
    const params: unknown[] = [iso(since), iso(today)];
    const { rows } = await this.db.query<Row>(
      `SELECT CASE WHEN GROUPING(repository) = 0 THEN 'repository' WHEN GROUPING(phase) = 0 AND GROUPING(model) = 0 THEN 'phase_model'
                   WHEN GROUPING(phase) = 0 THEN 'phase' WHEN GROUPING(model) = 0 THEN 'model' ELSE 'installation' END AS kind,
              day::text AS day, repository, phase, model, installation_id::text AS installation,
              sum(calls)::text AS calls, sum(input_tokens)::text AS input, sum(cache_write_tokens)::text AS cache_write,
              sum(cache_write_1h_tokens)::text AS cache_write_1h, sum(cache_read_tokens)::text AS cache_read,
              sum(output_tokens)::text AS output, sum(cost_usd_micros)::text AS cost, sum(unknown_cost_calls)::text AS unknown,
              sum(cost_usd_micros) FILTER (WHERE day = $2::date)::text AS today
       FROM ledger_daily WHERE day >= $1::date AND day <= $2::date AND ${scoped(access, "repository_id", params)}
       GROUP BY GROUPING SETS ((day, repository), (day, phase), (day, model), (phase, model), (installation_id))`,
      params,
    );
    const out: LedgerSums = {
      byRepository: [],
      byPhase: [],
      modelDays: [],
      phaseModels: [],
      todayByInstallation: new Map(),
      installations: [],
    };
    for (const r of rows) {
      if (r.kind === "repository") out.byRepository.push({ day: r.day!, key: r.repository || "(no run)", micros: Number(r.cost) });
      else if (r.kind === "phase") out.byPhase.push({ day: r.day!, key: r.phase!, micros: Number(r.cost) });
      else if (r.kind === "phase_model") out.phaseModels.push({ phase: r.phase!, model: r.model!, calls: Number(r.calls) });
      else if (r.kind === "installation") {
        if (r.installation === "0") continue;
        out.installations.push(Number(r.installation));
        if (r.today !== null) out.todayByInstallation.set(Number(r.installation), Number(r.today));
      } else
        out.modelDays.push({
          day: r.day!,
          model: r.model!,
          calls: Number(r.calls),
          input: Number(r.input),
          cacheWrite: Number(r.cache_write),
          cacheWrite1h: Number(r.cache_write_1h),
          cacheRead: Number(r.cache_read),
          output: Number(r.output),
          costMicros: Number(r.cost),
          unknownCost: Number(r.unknown),
        });
    }
    const byDay = (a: DayValue, b: DayValue) => a.day.localeCompare(b.day) || a.key.localeCompare(b.key);
    out.byRepository.sort(byDay);
    out.byPhase.sort(byDay);
    out.modelDays.sort((a, b) => a.day.localeCompare(b.day) || a.model.localeCompare(b.model));
    return out;
  }

  /**
   * The period's runs in one scan: spend by ticket type per day (each run's own sum, by the day it
   * started), runs by outcome, and per ticket type the tickets the gate held back, what gating
   * them cost, and the median cost of a run of that type that went past the gate.
   */
  async runSums(access: Access, since: Date): Promise<RunSums> {
    const params: unknown[] = [since.toISOString()];
    const finished = "status IN ('succeeded', 'draft', 'stopped', 'failed')";
    const { rows } = await this.db.query<Row>(
      `SELECT CASE WHEN GROUPING(day) = 0 THEN 'day' WHEN GROUPING(status) = 0 THEN 'status' ELSE 'type' END AS kind,
              day::text AS day, status, ticket_type, count(*)::text AS runs, sum(cost_usd_micros)::text AS cost,
              count(*) FILTER (WHERE status = 'needs_spec')::text AS held, sum(cost_usd_micros) FILTER (WHERE status = 'needs_spec')::text AS gate,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY cost_usd_micros) FILTER (WHERE ${finished})::text AS median,
              count(*) FILTER (WHERE ${finished})::text AS finished
       FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status, coalesce(ticket_type, '(unknown)') AS ticket_type, cost_usd_micros
             FROM runs WHERE created_at >= $1 AND ${scoped(access, "repository_id", params)}) r
       GROUP BY GROUPING SETS ((day, ticket_type), (status), (ticket_type))`,
      params,
    );
    const out: RunSums = { byTicketType: [], outcomes: [], gate: [] };
    for (const r of rows) {
      if (r.kind === "day") out.byTicketType.push({ day: r.day!, key: r.ticket_type!, micros: Number(r.cost) });
      else if (r.kind === "status") out.outcomes.push({ status: r.status!, runs: Number(r.runs) });
      else if (Number(r.held) > 0 && r.ticket_type !== "(unknown)")
        out.gate.push({
          ticketType: r.ticket_type!,
          heldBack: Number(r.held),
          gateMicros: Number(r.gate),
          medianMicros: r.median === null ? null : Number(r.median),
          finishedRuns: Number(r.finished),
        });
    }
    out.byTicketType.sort((a, b) => a.day.localeCompare(b.day) || a.key.localeCompare(b.key));
    out.outcomes.sort((a, b) => b.runs - a.runs || a.status.localeCompare(b.status));
    out.gate.sort((a, b) => a.ticketType.localeCompare(b.ticketType));
    return out;
  }

  /** Spend per day by phase since `since` (a UTC day), from the daily sums. */
  async spendByPhase(access: Access, since: Date): Promise<DayValue[]> {
    const params: unknown[] = [iso(since)];
    const { rows } = await this.db.query<{ day: string; key: string; micros: string }>(
      `SELECT day::text AS day, phase AS key, sum(cost_usd_micros)::text AS micros
       FROM ledger_daily WHERE day >= $1::date AND ${scoped(access, "repository_id", params)} GROUP BY 1, 2 ORDER BY 1, 2`,
      params,
    );
    return rows.map((r) => ({ day: r.day, key: r.key, micros: Number(r.micros) }));
  }
}
