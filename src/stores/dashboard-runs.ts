/**
 * The dashboard's runs: the filterable list, one run with everything it did (phases, model
 * calls, commands, the agents' transcripts), and what changed since a moment (the live list).
 * Each run's cost is its own sum (migration 0010), kept by the ledger's trigger.
 */
import type { Database } from "../db/database.js";
import { scoped, type Access } from "./dashboard.js";

export interface RunListFilter {
  /** owner/name */
  repository?: string;
  status?: string;
  ticketType?: string;
  /** Runs created on or after this day, and before the day after `until` (UTC days). */
  since?: string;
  until?: string;
  /** Keyset paging: runs created before this run (its `created_at` and id). */
  before?: { at: Date; id: string };
  limit?: number;
}

export interface RunListRow {
  id: string;
  kind: string;
  owner: string;
  repo: string;
  repositoryId: number;
  issueNumber: number;
  prNumber: number | null;
  status: string;
  ticketType: string | null;
  phase: string | null;
  rounds: number;
  costMicros: number;
  unknownCost: number;
  calls: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

const LIST_COLUMNS = `r.id, r.kind, r.owner, r.repo, r.repository_id::text AS repository_id, r.issue_number, r.pr_number, r.status,
  r.ticket_type, r.iterations, r.cost_usd_micros::text AS cost, r.unknown_cost_calls, r.llm_calls, r.created_at, r.started_at,
  r.finished_at, r.updated_at,
  (SELECT p.name FROM phases p WHERE p.run_id = r.id ORDER BY p.id DESC LIMIT 1) AS phase,
  (SELECT max(p.iteration) FROM phases p WHERE p.run_id = r.id) AS max_round`;

type ListRecord = Record<string, unknown>;

function toRow(r: ListRecord): RunListRow {
  return {
    id: String(r.id),
    kind: String(r.kind),
    owner: String(r.owner),
    repo: String(r.repo),
    repositoryId: Number(r.repository_id),
    issueNumber: Number(r.issue_number),
    prNumber: r.pr_number === null ? null : Number(r.pr_number),
    status: String(r.status),
    ticketType: (r.ticket_type as string | null) ?? null,
    phase: (r.phase as string | null) ?? null,
    // the loop's rounds are numbered from 1 in `phases` (0 is before the loop)
    rounds: Math.max(Number(r.iterations ?? 0), r.max_round === null ? 0 : Number(r.max_round)),
    costMicros: Number(r.cost),
    unknownCost: Number(r.unknown_cost_calls),
    calls: Number(r.llm_calls),
    createdAt: new Date(r.created_at as string),
    startedAt: r.started_at ? new Date(r.started_at as string) : null,
    finishedAt: r.finished_at ? new Date(r.finished_at as string) : null,
    updatedAt: new Date(r.updated_at as string),
  };
}

export interface RunCall {
  id: number;
  phase: string;
  agent: string | null;
  iteration: number;
  attempt: number;
  tier: string | null;
  model: string;
  status: string;
  input: number | null;
  cacheWrite: number | null;
  cacheRead: number | null;
  output: number | null;
  costMicros: number | null;
  latencyMs: number;
  stopReason: string | null;
  errorKind: string | null;
  at: Date;
}

export interface RunCommand {
  phase: string;
  agent: string | null;
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  at: Date;
}

export interface RunEvent {
  phase: string;
  agent: string;
  turn: number;
  tool: string;
  input: unknown;
  output: string;
  outputChars: number;
  isError: boolean;
  durationMs: number;
}

/** Longest tool output the run page shows per event; the rest is counted, not sent. */
export const EVENT_OUTPUT_CHARS = 4000;

export class DashboardRunStore {
  constructor(private readonly db: Database) {}

  async list(access: Access, f: RunListFilter): Promise<RunListRow[]> {
    const params: unknown[] = [];
    const where = [scoped(access, "r.repository_id", params)];
    const add = (sql: string, ...values: unknown[]) => {
      let text = sql;
      for (const v of values) {
        params.push(v);
        text = text.replace("?", `$${params.length}`);
      }
      where.push(text);
    };
    if (f.repository) {
      const [owner, repo] = f.repository.split("/");
      add("r.owner = ? AND r.repo = ?", owner, repo ?? "");
    }
    if (f.status) add("r.status = ?", f.status);
    if (f.ticketType) add("r.ticket_type = ?", f.ticketType);
    if (f.since) add("r.created_at >= ?::date", f.since);
    if (f.until) add("r.created_at < ?::date + 1", f.until);
    if (f.before) add("(r.created_at, r.id) < (?, ?::uuid)", f.before.at.toISOString(), f.before.id);
    params.push(f.limit ?? 50);
    const { rows } = await this.db.query<ListRecord>(
      `SELECT ${LIST_COLUMNS} FROM runs r WHERE ${where.join(" AND ")} ORDER BY r.created_at DESC, r.id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRow);
  }

  /** One run, or undefined when it does not exist or the reader may not see it. */
  async get(access: Access, id: string): Promise<(RunListRow & { error: string | null; budgetMicros: number | null }) | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const params: unknown[] = [id];
    const { rows } = await this.db.query<ListRecord>(
      `SELECT ${LIST_COLUMNS}, r.error, r.budget_usd_micros::text AS budget FROM runs r
       WHERE r.id = $1::uuid AND ${scoped(access, "r.repository_id", params)}`,
      params,
    );
    const r = rows[0];
    if (!r) return undefined;
    return { ...toRow(r), error: (r.error as string | null) ?? null, budgetMicros: r.budget === null ? null : Number(r.budget) };
  }

  /** Runs that are active or changed after `since`, for the live list (ids and the figures that move). */
  async changedSince(access: Access, since: Date): Promise<RunListRow[]> {
    const params: unknown[] = [since.toISOString()];
    const { rows } = await this.db.query<ListRecord>(
      `SELECT ${LIST_COLUMNS} FROM runs r
       WHERE (r.status IN ('queued', 'running') OR r.updated_at >= $1) AND ${scoped(access, "r.repository_id", params)}
       ORDER BY r.created_at DESC LIMIT 200`,
      params,
    );
    return rows.map(toRow);
  }

  async calls(runId: string): Promise<RunCall[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT id, phase, agent, iteration, attempt, tier, model, status, input_tokens, cache_write_tokens, cache_read_tokens,
              output_tokens, cost_usd_micros::text AS cost, latency_ms, stop_reason, error_kind, created_at
       FROM llm_calls WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return rows.map((r) => ({
      id: Number(r.id),
      phase: String(r.phase),
      agent: (r.agent as string | null) ?? null,
      iteration: Number(r.iteration),
      attempt: Number(r.attempt),
      tier: (r.tier as string | null) ?? null,
      model: String(r.model),
      status: String(r.status),
      input: n(r.input_tokens),
      cacheWrite: n(r.cache_write_tokens),
      cacheRead: n(r.cache_read_tokens),
      output: n(r.output_tokens),
      costMicros: n(r.cost),
      latencyMs: Number(r.latency_ms),
      stopReason: (r.stop_reason as string | null) ?? null,
      errorKind: (r.error_kind as string | null) ?? null,
      at: new Date(r.created_at as string),
    }));
  }

  async commands(runId: string): Promise<RunCommand[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT phase, agent, argv, exit_code, signal, timed_out, duration_ms, created_at FROM commands WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return rows.map((r) => ({
      phase: String(r.phase),
      agent: (r.agent as string | null) ?? null,
      argv: (typeof r.argv === "string" ? JSON.parse(r.argv) : r.argv) as string[],
      exitCode: r.exit_code === null ? null : Number(r.exit_code),
      signal: (r.signal as string | null) ?? null,
      timedOut: Boolean(r.timed_out),
      durationMs: Number(r.duration_ms),
      at: new Date(r.created_at as string),
    }));
  }

  /** The agents' tool calls, each output cut at EVENT_OUTPUT_CHARS (the database sends no more). */
  async events(runId: string): Promise<RunEvent[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT phase, agent, turn, tool, input, left(output, ${EVENT_OUTPUT_CHARS}) AS output, length(output) AS output_chars,
              is_error, duration_ms
       FROM agent_events WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return rows.map((r) => ({
      phase: String(r.phase),
      agent: String(r.agent),
      turn: Number(r.turn),
      tool: String(r.tool),
      input: typeof r.input === "string" ? JSON.parse(r.input) : r.input,
      output: String(r.output),
      outputChars: Number(r.output_chars),
      isError: Boolean(r.is_error),
      durationMs: Number(r.duration_ms),
    }));
  }

  /** The run's phases, every attempt, in order. */
  async phases(runId: string): Promise<
    Array<{
      name: string;
      iteration: number;
      attempt: number;
      status: string;
      startedAt: Date;
      finishedAt: Date | null;
      error: string | null;
    }>
  > {
    const { rows } = await this.db.query<Record<string, unknown>>(
      "SELECT name, iteration, attempt, status, started_at, finished_at, error FROM phases WHERE run_id = $1 ORDER BY started_at, id",
      [runId],
    );
    return rows.map((r) => ({
      name: String(r.name),
      iteration: Number(r.iteration),
      attempt: Number(r.attempt),
      status: String(r.status),
      startedAt: new Date(r.started_at as string),
      finishedAt: r.finished_at ? new Date(r.finished_at as string) : null,
      error: (r.error as string | null) ?? null,
    }));
  }
}
