/** `tollgate report` output: an aligned table for people, CSV for spreadsheets, JSON for tools. */
import Table from "cli-table3";
import { stringify } from "csv-stringify/sync";
import type { RollupRow } from "../stores/rollup.js";
import { formatUsd } from "../llm/money.js";

export type ReportFormat = "table" | "csv" | "json";

const COLUMNS = ["calls", "input", "cache_write", "cache_read", "output", "cost_usd", "unknown_cost_calls"] as const;

function values(row: RollupRow): Record<(typeof COLUMNS)[number], number> {
  return {
    calls: row.calls,
    input: row.input,
    cache_write: row.cacheWrite,
    cache_read: row.cacheRead,
    output: row.output,
    cost_usd: row.costMicros / 1_000_000,
    unknown_cost_calls: row.unknownCost,
  };
}

export function formatRollup(rows: RollupRow[], by: string[], format: ReportFormat): string {
  if (format === "json") {
    return `${JSON.stringify(
      rows.map((r) => ({ ...r.keys, ...values(r), cost_usd_micros: r.costMicros })),
      null,
      2,
    )}\n`;
  }
  if (format === "csv") {
    return stringify(
      rows.map((r) => ({ ...r.keys, ...values(r) })),
      { header: true, columns: [...by, ...COLUMNS] },
    );
  }
  const table = new Table({
    head: [...by, "calls", "input", "cache write", "cache read", "output", "cost (USD)"],
    colAligns: [...by.map(() => "left" as const), "right", "right", "right", "right", "right", "right"],
    style: { head: [], border: [] },
  });
  const int = (n: number) => n.toLocaleString("en-US");
  for (const r of rows) {
    const cost = `${formatUsd(r.costMicros, { precise: true })}${r.unknownCost ? ` (+${r.unknownCost} unknown)` : ""}`;
    table.push([...by.map((d) => r.keys[d] ?? ""), int(r.calls), int(r.input), int(r.cacheWrite), int(r.cacheRead), int(r.output), cost]);
  }
  const total = rows.reduce((s, r) => s + r.costMicros, 0);
  const calls = rows.reduce((s, r) => s + r.calls, 0);
  return `${table.toString()}\n${int(calls)} calls, ${formatUsd(total, { precise: true })} in all\n`;
}
