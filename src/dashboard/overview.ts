/**
 * The overview's figures: spend against the budgets, spend over time by repository, phase, model
 * and ticket type, what caching and tiering saved, runs by outcome, and what the gate saved
 * (tickets held back × the median cost of a run of that type). All from the pre-aggregates.
 */
import type { PriceBook } from "../llm/pricing.js";
import { allDeepCost, cachingSaving } from "../report/cost-table.js";
import type { CostRow } from "../stores/cost-rows.js";
import type { BudgetStore } from "../stores/budget.js";
import type { Access, DashboardStore, DayValue, LedgerSums, ModelDay } from "../stores/dashboard.js";

export const OVERVIEW_DAYS = 30;

export interface Chart {
  id: string;
  title: string;
  labels: string[];
  /** Dollars per day, one series per key (the biggest first). */
  datasets: Array<{ label: string; data: number[] }>;
}

export interface Overview {
  windows: { today: number; week: number; month: number };
  budgets: Array<{ installation: number; capMicros: number; spentMicros: number; remainingMicros: number; usedPct: number }>;
  charts: Chart[];
  cache: { sharePct: number | null; savedMicros: number | null };
  tiering: { deepModel: string; savedMicros: number | null; allDeepMicros: number | null; actualMicros: number };
  outcomes: Array<{ status: string; runs: number }>;
  gate: {
    rows: Array<{
      ticketType: string;
      heldBack: number;
      gateMicros: number;
      medianMicros: number | null;
      finishedRuns: number;
      savedMicros: number | null;
    }>;
    savedMicros: number;
    gateMicros: number;
  };
}

export interface OverviewDeps {
  store: DashboardStore;
  budget: Pick<BudgetStore, "allCaps">;
  prices: PriceBook;
  /** The operator's daily cap per installation (TOLLGATE_DAILY_USD), in micro-dollars. */
  dailyCapMicros: number;
  /** The deep tier's default model, when no gate or plan call says which model it was. */
  defaultDeepModel: string;
}

const startOfUtcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export function days(since: Date, count: number): string[] {
  return Array.from({ length: count }, (_, i) => new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10));
}

/** One chart of dollars per day: at most `top` series, the rest summed as "other". */
export function chartOf(id: string, title: string, labels: string[], values: DayValue[], top = 8): Chart {
  const totals = new Map<string, number>();
  for (const v of values) totals.set(v.key, (totals.get(v.key) ?? 0) + v.micros);
  const keys = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
  const kept = new Set(keys.slice(0, keys.length > top ? top - 1 : top));
  const index = new Map(labels.map((d, i) => [d, i]));
  const series = new Map<string, number[]>();
  for (const v of values) {
    const label = kept.has(v.key) ? v.key : "other";
    const data =
      series.get(label) ??
      series
        .set(
          label,
          labels.map(() => 0),
        )
        .get(label)!;
    const i = index.get(v.day);
    if (i !== undefined) data[i]! += v.micros;
  }
  const order = [...keys.filter((k) => kept.has(k)), ...(series.has("other") ? ["other"] : [])];
  return {
    id,
    title,
    labels,
    datasets: order.map((label) => ({ label, data: series.get(label)!.map((micros) => micros / 1_000_000) })),
  };
}

/** A day's tokens of one model as the cost table's row, so both price savings the same way. */
function asCostRow(m: ModelDay): CostRow {
  return {
    phase: "",
    model: m.model,
    calls: m.calls,
    input: m.input,
    cacheWrite: m.cacheWrite,
    cacheWrite5m: m.cacheWrite - m.cacheWrite1h,
    cacheWrite1h: m.cacheWrite1h,
    cacheRead: m.cacheRead,
    output: m.output,
    costMicros: m.costMicros,
    unknownInput: 0,
    unknownCacheWrite: 0,
    unknownCacheRead: 0,
    unknownOutput: 0,
    unknownCost: m.unknownCost,
    latencyMs: 0,
    unsplitCacheWrite: 0,
  };
}

/** Sums a saving over days, each priced at that day's price; null when any day's is unknown. */
function sumByDay(modelDays: ModelDay[], price: (rows: CostRow[], at: Date) => number | null): number | null {
  const byDay = new Map<string, CostRow[]>();
  for (const m of modelDays) (byDay.get(m.day) ?? byDay.set(m.day, []).get(m.day)!).push(asCostRow(m));
  let total = 0;
  for (const [day, rows] of byDay) {
    const value = price(rows, new Date(`${day}T12:00:00Z`));
    if (value === null) return null;
    total += value;
  }
  return total;
}

/** Spend of today, the last 7 and the last 30 days (today included), from the per-day sums. */
function windows(modelDays: ModelDay[], today: Date): Overview["windows"] {
  const day = (n: number) => new Date(today.getTime() - n * 86_400_000).toISOString().slice(0, 10);
  const sum = (from: string) => modelDays.filter((m) => m.day >= from).reduce((s, m) => s + m.costMicros, 0);
  return { today: sum(day(0)), week: sum(day(6)), month: sum(day(OVERVIEW_DAYS - 1)) };
}

/** The model the deep-tier phases (gate, plan) used most: what tiering is compared with. */
function deepModelOf(phaseModels: LedgerSums["phaseModels"]): string | undefined {
  const calls = new Map<string, number>();
  for (const p of phaseModels) if (p.phase === "gate" || p.phase === "plan") calls.set(p.model, (calls.get(p.model) ?? 0) + p.calls);
  return [...calls].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}

export async function overview(deps: OverviewDeps, access: Access, now: Date): Promise<Overview> {
  const today = startOfUtcDay(now);
  const since = new Date(today.getTime() - (OVERVIEW_DAYS - 1) * 86_400_000);
  const labels = days(since, OVERVIEW_DAYS);
  // two scans in all (the daily sums, the period's runs): the embedded database runs queries one at a time
  const [ledger, runs, caps] = await Promise.all([
    deps.store.ledgerSums(access, since, today),
    deps.store.runSums(access, since),
    deps.budget.allCaps(),
  ]);
  const { modelDays } = ledger;
  const capOf = new Map(caps.map((c) => [c.installationId, c.dailyMicros ?? deps.dailyCapMicros]));
  const seen = access.all ? [...ledger.installations, ...capOf.keys()] : access.installations;
  const budgets = [...new Set(seen)]
    .sort((a, b) => a - b)
    .map((installation) => {
      const capMicros = capOf.get(installation) ?? deps.dailyCapMicros;
      const spentMicros = ledger.todayByInstallation.get(installation) ?? 0;
      return {
        installation,
        capMicros,
        spentMicros,
        remainingMicros: capMicros - spentMicros,
        usedPct: Math.round((100 * spentMicros) / capMicros),
      };
    });
  const deepModel = deepModelOf(ledger.phaseModels) ?? deps.defaultDeepModel;
  const actualMicros = modelDays.reduce((s, m) => s + m.costMicros, 0);
  const allDeepMicros = sumByDay(modelDays, (rows, at) => allDeepCost(rows, deps.prices, deepModel, at));
  const inputAll = modelDays.reduce((s, m) => s + m.input + m.cacheWrite + m.cacheRead, 0);
  const cacheRead = modelDays.reduce((s, m) => s + m.cacheRead, 0);
  const gate = runs.gate.map((g) => ({ ...g, savedMicros: g.medianMicros === null ? null : g.heldBack * g.medianMicros }));
  const byModel = modelDays.map((m) => ({ day: m.day, key: m.model, micros: m.costMicros }));
  return {
    windows: windows(modelDays, today),
    budgets,
    charts: [
      chartOf("spend-by-repository", "Spend by repository", labels, ledger.byRepository),
      chartOf("spend-by-phase", "Spend by phase", labels, ledger.byPhase),
      chartOf("spend-by-model", "Spend by model", labels, byModel),
      chartOf("spend-by-ticket_type", "Spend by ticket type (by the day the run started)", labels, runs.byTicketType),
    ],
    cache: {
      sharePct: inputAll > 0 ? (100 * cacheRead) / inputAll : null,
      savedMicros: sumByDay(modelDays, (rows, at) => cachingSaving(rows, deps.prices, at)),
    },
    tiering: {
      deepModel,
      actualMicros,
      allDeepMicros,
      savedMicros: allDeepMicros === null || modelDays.some((m) => m.unknownCost > 0) ? null : allDeepMicros - actualMicros,
    },
    outcomes: runs.outcomes,
    gate: {
      rows: gate,
      savedMicros: gate.reduce((s, g) => s + (g.savedMicros ?? 0), 0),
      gateMicros: gate.reduce((s, g) => s + g.gateMicros, 0),
    },
  };
}
