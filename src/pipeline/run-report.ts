/** The report of a run (PR body, `tollgate run` output), from its state and the ledger. */
import type { RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import { costRows, phaseCosts, runSummaries } from "../ledger/cost-rows.js";
import type { PriceBook } from "../llm/pricing.js";
import { renderCostTable } from "../report/cost-table.js";
import { renderPrBody } from "../report/pr-body.js";
import type { PublishState } from "./orchestrator.js";

export function runReporter(deps: { db: Database; prices: PriceBook; config: RepoConfig; runId: string; issueNumber?: number }) {
  return async (state: PublishState): Promise<string> => {
    const [rows, [summary], costs] = await Promise.all([costRows(deps.db, [deps.runId]), runSummaries(deps.db, [deps.runId]), phaseCosts(deps.db, deps.runId)]);
    const costTable = renderCostTable({ rows, prices: deps.prices, deepModel: deps.config.tiers.deep, budgetMicros: summary?.budgetMicros ?? null, iterations: state.iterations });
    return renderPrBody({ ...state, issueNumber: deps.issueNumber, costTable, costs });
  };
}
