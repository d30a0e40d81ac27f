/**
 * The ledger page: `tollgate report`'s rollups (the same query and the same CSV), over the
 * repositories the reader can see, by the dimensions the form ticks.
 */
import type { Database } from "../db/database.js";
import { formatRollup } from "../report/rollup-format.js";
import type { Access } from "../stores/dashboard.js";
import { DIMENSIONS, rollup, type Dimension, type RollupRow } from "../stores/rollup.js";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DEFAULT_BY: Dimension[] = ["phase", "model"];

export interface LedgerPage {
  by: Dimension[];
  dimensions: Array<{ name: Dimension; checked: boolean }>;
  since: string;
  until: string;
  repository: string;
  rows: RollupRow[];
  total: Omit<RollupRow, "keys">;
  colspan: number;
  csv?: string;
  filename?: string;
  csvLink?: string;
  /** The first thing wrong with the query, shown on the page. */
  error?: string;
}

export async function ledgerPage(db: Database, access: Access, query: URLSearchParams, now: Date): Promise<LedgerPage> {
  const asked = query.getAll("by");
  const unknown = asked.find((d) => !(DIMENSIONS as readonly string[]).includes(d));
  const by = asked.length && !unknown ? [...new Set(asked as Dimension[])] : DEFAULT_BY;
  const today = now.toISOString().slice(0, 10);
  const since = query.get("since") || new Date(now.getTime() - 29 * 86_400_000).toISOString().slice(0, 10);
  const until = query.get("until") || today;
  const repository = query.get("repository")?.trim() ?? "";
  const page: LedgerPage = {
    by,
    dimensions: DIMENSIONS.map((name) => ({ name, checked: by.includes(name) })),
    since,
    until,
    repository,
    rows: [],
    total: { calls: 0, input: 0, cacheWrite: 0, cacheRead: 0, output: 0, costMicros: 0, unknownCost: 0 },
    colspan: by.length + 6,
  };
  const error = unknown
    ? `"${unknown}" is not a dimension (${DIMENSIONS.join(", ")}).`
    : !DAY.test(since) || !DAY.test(until) || Number.isNaN(Date.parse(since)) || Number.isNaN(Date.parse(until))
      ? "Dates are written YYYY-MM-DD."
      : since > until
        ? "The first day is after the last."
        : repository && !/^[\w.-]+\/[\w.-]+$/.test(repository)
          ? `"${repository}" is not a repository: write it as owner/name.`
          : undefined;
  if (error) return { ...page, error };
  const rows = await rollup(db, {
    by,
    since: new Date(`${since}T00:00:00Z`),
    until: new Date(Date.parse(`${until}T00:00:00Z`) + 86_400_000),
    ...(repository ? { repo: repository } : {}),
    ...(access.all ? {} : { repositoryIds: access.repositories }),
  });
  const sum = (f: (r: RollupRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const total = {
    calls: sum((r) => r.calls),
    input: sum((r) => r.input),
    cacheWrite: sum((r) => r.cacheWrite),
    cacheRead: sum((r) => r.cacheRead),
    output: sum((r) => r.output),
    costMicros: sum((r) => r.costMicros),
    unknownCost: sum((r) => r.unknownCost),
  };
  const csvLink = new URLSearchParams(query);
  csvLink.set("format", "csv");
  return {
    ...page,
    rows,
    total,
    ...(query.get("format") === "csv" ? { csv: formatRollup(rows, by, "csv"), filename: `tollgate-ledger-${since}-${until}.csv` } : {}),
    csvLink: `/dashboard/ledger?${csvLink.toString()}`,
  };
}
