/**
 * The metrics read from the database at scrape time: the ledger's tokens and cost, runs by
 * status, the job queues and what is left of each installation's daily budget. They are the
 * same whichever process scrapes them (workers may be other processes), so only the web
 * process serves them: a worker's /metrics has its own process's metrics only.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { OperatorCaps } from "../llm/budget.js";
import type { QueueStats } from "../stores/queue-inspection.js";
import type { MetricsSource } from "../stores/metrics-source.js";
import type { RunStatus } from "../stores/runs.js";

export interface MetricsDatabase {
  source: MetricsSource;
  queue: { stats(): Promise<QueueStats[]> };
  /** The operator's caps (AppEnv.caps): an installation without caps of its own has these. */
  operatorCaps: OperatorCaps;
  /** Epoch ms, for the UTC day of the budgets (tests pin it). */
  now?: () => number;
  /**
   * TOLLGATE_METRICS_REPOSITORY_LABELS=1: the ledger's counters are labelled by `repository`
   * (owner/name, private ones too); by default by `installation` (its id), so that a scrape never
   * names a repository.
   */
  repositoryLabels?: boolean;
}

/**
 * How a run can end. A run that ended never changes status again (a retry or an approval is a new
 * run), so these counts only grow, as a counter's must; each reads 0 until a run ends so.
 */
const ENDED: RunStatus[] = ["needs_spec", "succeeded", "draft", "stopped", "failed", "cancelled"];
const TOKEN_TYPES = ["input", "cache_write", "cache_read", "output"] as const;

/**
 * One database read shared by the collectors that need it during one scrape (the registry
 * collects every metric at once), and by concurrent scrapes.
 */
function shared<T>(load: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => (inFlight ??= load().finally(() => (inFlight = undefined)));
}

export function registerDatabaseMetrics(registry: Registry, db: MetricsDatabase): void {
  const by = db.repositoryLabels ? "repository" : "installation";
  const totals = shared(() => db.source.ledgerTotals(by));
  const runs = shared(() => db.source.runsByStatus());
  const queues = shared(() => db.queue.stats());
  const now = db.now ?? Date.now;
  const registers = [registry];

  // Counters whose value is the ledger's: each collect reads the totals first, then replaces the
  // values in one synchronous step, so that concurrent scrapes never add up twice.
  const tokens: Counter<string> = new Counter({
    name: "tollgate_tokens_total",
    help: `Tokens of every model call in the ledger (llm_calls), by phase, model, ${by} and type: input (not from the cache), cache_write, cache_read, output.`,
    labelNames: ["phase", "model", by, "type"],
    registers,
    async collect() {
      const rows = await totals();
      tokens.reset();
      for (const r of rows) {
        const counts = { input: r.inputTokens, cache_write: r.cacheWriteTokens, cache_read: r.cacheReadTokens, output: r.outputTokens };
        for (const type of TOKEN_TYPES) tokens.inc({ phase: r.phase, model: r.model, [by]: r.group, type }, counts[type]);
      }
    },
  });
  const cost: Counter<string> = new Counter({
    name: "tollgate_cost_usd_total",
    help: `What every model call in the ledger cost, in US dollars, by phase, model and ${by} (calls of unknown cost count 0).`,
    labelNames: ["phase", "model", by],
    registers,
    async collect() {
      const rows = await totals();
      cost.reset();
      for (const r of rows) cost.inc({ phase: r.phase, model: r.model, [by]: r.group }, r.costMicros / 1e6);
    },
  });
  // Runs that ended, by how: a counter, so only ended runs, whose count never goes down. Runs in
  // progress are tollgate_runs_active; runs waiting for a worker are the run queue's depth.
  const ended: Counter<"status"> = new Counter({
    name: "tollgate_runs_total",
    help: "Runs that ended, by status: needs_spec (held by the gate), succeeded, draft, stopped, failed, cancelled.",
    labelNames: ["status"],
    registers,
    async collect() {
      const counts = await runs();
      ended.reset();
      for (const status of ENDED) ended.inc({ status }, counts.get(status) ?? 0);
    },
  });
  const active: Gauge = new Gauge({
    name: "tollgate_runs_active",
    help: "Runs in progress (status running).",
    registers,
    async collect() {
      active.set((await runs()).get("running") ?? 0);
    },
  });
  const queue: Gauge<"queue" | "state"> = new Gauge({
    name: "tollgate_queue_jobs",
    help: "Jobs in each queue by state: queued (waiting or to be retried), active, failed.",
    labelNames: ["queue", "state"],
    registers,
    async collect() {
      const stats = await queues();
      queue.reset();
      for (const q of stats) for (const state of ["queued", "active", "failed"] as const) queue.set({ queue: q.name, state }, q[state]);
    },
  });
  const oldest: Gauge<"queue"> = new Gauge({
    name: "tollgate_queue_oldest_waiting_seconds",
    help: "How long the oldest job of each queue that is due has waited for a worker, in seconds (0 when none waits).",
    labelNames: ["queue"],
    registers,
    async collect() {
      const stats = await queues();
      oldest.reset();
      for (const q of stats) oldest.set({ queue: q.name }, q.oldestWaitingSeconds ?? 0);
    },
  });
  const budget: Gauge<"installation"> = new Gauge({
    name: "tollgate_budget_remaining_usd",
    help: "An installation's daily cap in force today minus what its calls cost today (UTC), in US dollars; negative when a lowered cap is already passed.",
    labelNames: ["installation"],
    registers,
    async collect() {
      const days = await db.source.installationDays(new Date(now()).toISOString().slice(0, 10));
      budget.reset();
      for (const d of days) {
        // the cap in force, as src/llm/budget.ts's capsInForce has it: the installation's, else the operator's
        const cap = d.dailyCapMicros ?? db.operatorCaps.dailyMicros;
        budget.set({ installation: String(d.installationId) }, (cap - d.spentMicros) / 1e6);
      }
    },
  });
}
