/**
 * The run's live progress, as the sticky issue comment shows it (and `tollgate run` logs it): a
 * checklist of phases by round, each with what it cost so far, and the run's spend against its
 * budget. Figures come from the ledger.
 */
import type { PhaseCost } from "../stores/cost-rows.js";
import { formatUsd } from "../llm/money.js";
import { PHASE } from "../phases/registry.js";
import type { PhaseRecord } from "../stores/phases.js";

const MARK = { running: "⏳", succeeded: "✅", failed: "❌", cancelled: "⏹️" } as const;

export interface ProgressInput {
  title: string;
  /** The gate's line, e.g. "Spec gate: ready (score 84/100)". */
  gate?: string;
  /** The setup step's lines (src/report/setup-summary.ts), once it ran. */
  setup?: string[];
  phases: PhaseRecord[];
  costs: PhaseCost[];
  budgetMicros: number | null;
  /** Lines under the checklist (the PR link, why the run stopped…). */
  footer?: string[];
}

/** "$0.42", or "$0.42 + 1 call of unknown cost" when some calls have no known cost. */
export function formatSpend(costs: Array<Pick<PhaseCost, "costMicros" | "unknownCalls">>): string {
  const known = costs.reduce((s, c) => s + c.costMicros, 0);
  const unknown = costs.reduce((s, c) => s + c.unknownCalls, 0);
  return unknown ? `${formatUsd(known)} + ${unknown} call${unknown === 1 ? "" : "s"} of unknown cost` : formatUsd(known);
}

export function renderProgress(input: ProgressInput): string {
  // the latest attempt of each phase and round
  const latest = new Map<string, PhaseRecord>();
  for (const p of input.phases) latest.set(`${p.name}#${p.iteration}`, p);
  const cost = (name: string, iteration: number) => {
    const c = input.costs.find((x) => x.phase === name && x.iteration === iteration);
    return c ? ` · ${formatSpend([c])}` : "";
  };
  const lines = [`### Tollgate: ${input.title}`, ""];
  if (input.gate) lines.push(input.gate, "");
  if (input.setup?.length) lines.push(...input.setup, "");
  for (const p of latest.values()) {
    if (p.name === PHASE.gate) continue;
    const round = p.iteration > 0 ? ` (round ${p.iteration})` : "";
    lines.push(
      `- ${MARK[p.status]} ${p.name}${round}${cost(p.name, p.iteration)}${p.status === "failed" && p.error ? `: ${p.error.split("\n")[0]!.slice(0, 200)}` : ""}`,
    );
  }
  lines.push("", `Spent: ${formatSpend(input.costs)}${input.budgetMicros ? ` of the ${formatUsd(input.budgetMicros)} budget` : ""}.`);
  if (input.footer?.length) lines.push("", ...input.footer);
  return lines.join("\n");
}
