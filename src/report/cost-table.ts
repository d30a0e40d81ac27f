/**
 * The per-phase cost table (PR body, `/cost`, `tollgate run`): one row per phase and model in
 * pipeline order, a total row, then the savings lines and a mermaid pie of cost by phase. Every
 * figure comes from the ledger rows it is given; the totals are their sums.
 */
import type { CostRow } from "../stores/cost-rows.js";
import type { TokenSums } from "../stores/rollup.js";
import { formatUsd } from "../llm/money.js";
import { costMicros, type PriceBook } from "../llm/pricing.js";
import { phaseRank } from "../phases/registry.js";

export interface CostTableOptions {
  rows: CostRow[];
  prices: PriceBook;
  /** The `deep` tier's model: what every phase would have cost without tiering. */
  deepModel: string;
  budgetMicros?: number | null;
  iterations?: number;
  at?: Date;
}

export interface CostTotals extends TokenSums {
  latencyMs: number;
}

/** The table's rows in pipeline order, and their totals. */
export function orderRows(rows: CostRow[]): CostRow[] {
  return [...rows].sort(
    (a, b) => phaseRank(a.phase) - phaseRank(b.phase) || a.phase.localeCompare(b.phase) || a.model.localeCompare(b.model),
  );
}

export function totals(rows: CostRow[]): CostTotals {
  const sum = (f: (r: CostRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  return {
    calls: sum((r) => r.calls),
    input: sum((r) => r.input),
    cacheWrite: sum((r) => r.cacheWrite),
    cacheRead: sum((r) => r.cacheRead),
    output: sum((r) => r.output),
    costMicros: sum((r) => r.costMicros),
    unknownCost: sum((r) => r.unknownCost),
    latencyMs: sum((r) => r.latencyMs),
  };
}

const int = (n: number) => n.toLocaleString("en-US");

/** A sum with a mark when some calls did not report it, "unknown" when none did. */
function tokens(value: number, unknown: number, calls: number): string {
  if (unknown === calls && calls > 0) return "unknown";
  return unknown > 0 ? `${int(value)}*` : int(value);
}

function money(micros: number, unknown: number, calls: number): string {
  if (unknown === calls && calls > 0) return "unknown";
  return unknown > 0 ? `${formatUsd(micros, { precise: true })}*` : formatUsd(micros, { precise: true });
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60 ? `${minutes}m ${seconds}s` : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/**
 * Dollars caching saved, net: cache reads priced at the input rate minus what they cost, less
 * the premium paid to write the cache. `null` when a model's price or the TTL split is unknown.
 */
export function cachingSaving(rows: CostRow[], prices: PriceBook, at?: Date): number | null {
  let thousandths = 0;
  for (const r of rows) {
    if (r.cacheRead === 0 && r.cacheWrite === 0) continue;
    const p = prices.find(r.model, at);
    if (!p || r.unsplitCacheWrite > 0) return null;
    thousandths +=
      r.cacheRead * Math.round((p.input - p.cacheRead) * 1000) -
      r.cacheWrite5m * Math.round((p.cacheWrite5m - p.input) * 1000) -
      r.cacheWrite1h * Math.round((p.cacheWrite1h - p.input) * 1000);
  }
  return Math.round(thousandths / 1000);
}

/** The same tokens priced on the deep model; `null` when that cannot be known. */
export function allDeepCost(rows: CostRow[], prices: PriceBook, deepModel: string, at?: Date): number | null {
  const deep = prices.find(deepModel, at);
  if (!deep) return null;
  let micros = 0;
  for (const r of rows) {
    if (r.unknownInput || r.unknownOutput || r.unknownCacheRead || r.unknownCacheWrite || r.unsplitCacheWrite) return null;
    const cost = costMicros(deep, {
      inputTokens: r.input,
      outputTokens: r.output,
      cacheWriteTokens: r.cacheWrite,
      cacheWrite5mTokens: r.cacheWrite5m,
      cacheWrite1hTokens: r.cacheWrite1h,
      cacheReadTokens: r.cacheRead,
      raw: null,
    });
    if (cost === null) return null;
    micros += cost;
  }
  return micros;
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

/** GitHub caps an issue or PR body, and a comment, at 65,536 characters; leave room around the table. */
export const COST_TABLE_MAX_CHARS = 60_000;

/**
 * Renders the table, safely under `maxChars`: when there are too many phase/model rows, the
 * cheapest ones are folded into one "more rows" line; the totals still cover every row.
 */
export function renderCostTable(options: CostTableOptions, maxChars = COST_TABLE_MAX_CHARS): string {
  let keep = options.rows.length;
  for (;;) {
    const text = render(options, keep);
    if (text.length <= maxChars || keep === 0) return text;
    keep = Math.floor(keep / 2);
  }
}

function render(options: CostTableOptions, keep: number): string {
  const all = orderRows(options.rows);
  const kept = new Set([...all].sort((a, b) => b.costMicros - a.costMicros).slice(0, keep));
  const rows = all.filter((r) => kept.has(r));
  const folded = all.filter((r) => !kept.has(r));
  const t = totals(all);
  if (all.length === 0) return "No model calls yet.\n";
  const sumUnknown = (f: (r: CostRow) => number) => all.reduce((s, r) => s + f(r), 0);
  const lines = [
    "| Phase | Model | Calls | Input | Cache write | Cache read | Output | Cost (USD) | Time |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.phase} | ${r.model} | ${int(r.calls)} | ${tokens(r.input, r.unknownInput, r.calls)} | ${tokens(r.cacheWrite, r.unknownCacheWrite, r.calls)} | ${tokens(r.cacheRead, r.unknownCacheRead, r.calls)} | ${tokens(r.output, r.unknownOutput, r.calls)} | ${money(r.costMicros, r.unknownCost, r.calls)} | ${formatDuration(r.latencyMs)} |`,
    ),
    ...(folded.length
      ? [
          `| … ${int(folded.length)} more rows | | ${int(totals(folded).calls)} | | | | | ${formatUsd(totals(folded).costMicros, { precise: true })} | |`,
        ]
      : []),
    `| **Total** | | **${int(t.calls)}** | **${tokens(
      t.input,
      sumUnknown((r) => r.unknownInput),
      t.calls,
    )}** | **${tokens(
      t.cacheWrite,
      sumUnknown((r) => r.unknownCacheWrite),
      t.calls,
    )}** | **${tokens(
      t.cacheRead,
      sumUnknown((r) => r.unknownCacheRead),
      t.calls,
    )}** | **${tokens(
      t.output,
      sumUnknown((r) => r.unknownOutput),
      t.calls,
    )}** | **${money(t.costMicros, t.unknownCost, t.calls)}** | **${formatDuration(t.latencyMs)}** |`,
    "",
  ];

  const notes: string[] = [];
  if (all.some((r) => r.unknownInput || r.unknownOutput || r.unknownCacheRead || r.unknownCacheWrite || r.unknownCost)) {
    notes.push(
      `\\* Some calls did not report this figure, or their model has no known price; the sum covers the calls that did (${int(t.unknownCost)} of ${int(t.calls)} calls have an unknown cost).`,
    );
  }
  const head: string[] = [];
  if (options.iterations !== undefined) head.push(`Iterations: ${options.iterations}`);
  if (options.budgetMicros) {
    const left = options.budgetMicros - t.costMicros;
    head.push(
      `Budget: ${formatUsd(options.budgetMicros)}, ${formatUsd(t.costMicros)} used (${pct(t.costMicros, options.budgetMicros)}), ${left >= 0 ? `${formatUsd(left)} left` : `${formatUsd(-left)} over`}`,
    );
  }
  if (head.length) notes.push(head.join(" · "));

  const inputAll = t.input + t.cacheWrite + t.cacheRead;
  if (inputAll > 0) {
    const saving = cachingSaving(all, options.prices, options.at);
    notes.push(
      `Cache: ${pct(t.cacheRead, inputAll)} of input tokens read from the cache; ${
        saving === null
          ? "what it saved is unknown (a model has no known price)"
          : saving >= 0
            ? `caching saved ${formatUsd(saving, { precise: true })}`
            : `caching cost ${formatUsd(-saving, { precise: true })} more than it saved`
      }.`,
    );
  }
  const deep = allDeepCost(all, options.prices, options.deepModel, options.at);
  if (deep === null || t.unknownCost > 0) {
    notes.push(`Tiering: what these tokens would have cost on ${options.deepModel} (deep) for every phase is unknown.`);
  } else {
    const saved = deep - t.costMicros;
    notes.push(
      `Tiering: the same tokens on ${options.deepModel} (deep) for every phase would have cost ${formatUsd(deep, { precise: true })}; tiering saved ${formatUsd(saved, { precise: true })}${deep > 0 ? ` (${pct(saved, deep)})` : ""}.`,
    );
  }

  const byPhase = new Map<string, number>();
  for (const r of all) byPhase.set(r.phase, (byPhase.get(r.phase) ?? 0) + r.costMicros);
  const slices = pieSlices(byPhase);
  const pie = slices.length
    ? [
        "```mermaid",
        "pie showData title Cost by phase (USD)",
        ...slices.map(([phase, micros]) => `    "${phase}" : ${(micros / 1_000_000).toFixed(4)}`),
        "```",
      ]
    : [];
  return [...lines, ...notes.map((n) => `${n}\n`), ...pie].join("\n").trimEnd() + "\n";
}

/** At most 12 slices, the rest as "other": a pie with more is unreadable. */
function pieSlices(byPhase: Map<string, number>): Array<[string, number]> {
  const positive = [...byPhase].filter(([, micros]) => micros > 0);
  if (positive.length <= 12) return positive;
  const sorted = [...positive].sort((a, b) => b[1] - a[1]);
  const other = sorted.slice(11).reduce((sum, [, micros]) => sum + micros, 0);
  return [...sorted.slice(0, 11), ["other", other]];
}
