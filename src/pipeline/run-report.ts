/** The report of a run (PR body, `tollgate run` output), from its state and the ledger. */
import type { RepoConfig } from "../config/repo-config.js";
import type { RunCosts } from "../stores/cost-rows.js";
import type { PriceBook } from "../llm/pricing.js";
import { renderCostTable } from "../report/cost-table.js";
import { renderPrBody } from "../report/pr-body.js";
import { formatSpend } from "../report/progress.js";
import type { RunStore } from "../stores/runs.js";
import type { PublishState } from "./orchestrator.js";

export function runReporter(deps: {
  costs: RunCosts;
  runs: RunStore;
  prices: PriceBook;
  config: RepoConfig;
  runId: string;
  issueNumber?: number;
  issueRuns?: () => Promise<string[]>;
}) {
  return async (state: PublishState): Promise<string> => {
    const [rows, [summary], costs] = await Promise.all([
      deps.costs.costRows([deps.runId]),
      deps.costs.runSummaries([deps.runId]),
      deps.costs.phaseCosts(deps.runId),
    ]);
    const costTable = renderCostTable({
      rows,
      prices: deps.prices,
      deepModel: deps.config.tiers.deep,
      budgetMicros: summary?.budgetMicros ?? null,
      iterations: state.iterations,
    });
    const body = renderPrBody({ ...state, repoEnv: deps.config.env, issueNumber: deps.issueNumber, costTable, costs });
    return deps.issueRuns ? `${body}\n\n${await everyRun(deps.runs, await deps.issueRuns(), deps.runId)}` : body;
  };
}

/** Every run behind the PR (the first one and its revisions), with its cost, and the total. */
async function everyRun(runs: RunStore, runIds: string[], current: string): Promise<string> {
  if (runIds.length < 2) return "";
  const rows = await runs.withCosts(runIds);
  const lines = ["### Every run on this pull request", "", "| Run | Kind | Started | Status | Cost (USD) |", "|---|---|---|---|---:|"];
  for (const r of rows)
    lines.push(
      `| \`${r.id.slice(0, 8)}\` | ${r.kind === "revise" ? "revision" : "first run"} | ${new Date(r.created_at).toISOString().slice(0, 16).replace("T", " ")} UTC | ${r.id === current ? "this run" : r.status} | ${formatSpend([{ costMicros: Number(r.micros), unknownCalls: Number(r.unknown) }])} |`,
    );
  lines.push(
    `| **Total** | | | | **${formatSpend(rows.map((r) => ({ costMicros: Number(r.micros), unknownCalls: Number(r.unknown) })))}** |`,
  );
  return lines.join("\n");
}
