/**
 * Budgets, checked before every model call against the ledger plus the worst case of the call
 * about to be made: a call that could take spending past a cap is not made. Caps are per run,
 * per phase of a run, and per installation per UTC day.
 */
import type { Ledger } from "../stores/ledger.js";
import { BudgetExceededError } from "./errors.js";
import { formatUsd } from "./money.js";

export interface BudgetLimits {
  runMicros?: number;
  phaseMicros?: Partial<Record<string, number>>;
  dailyMicros?: number;
}

export interface BudgetScope {
  runId?: string;
  installationId?: number;
  phase: string;
  iteration: number;
}

function startOfUtcDay(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

function where(scope: BudgetScope): string {
  return scope.iteration > 0 ? `${scope.phase} iteration ${scope.iteration}` : scope.phase;
}

/**
 * Throws `BudgetExceededError` when spent + `nextCallMaxMicros` would pass a cap. A call whose
 * worst case is unknown (no price for its model) is checked as costing nothing more: its real
 * cost will show as unknown, and the caps still hold for every priced call.
 */
export async function checkBudget(
  ledger: Ledger,
  limits: BudgetLimits,
  scope: BudgetScope,
  nextCallMaxMicros: number | null,
  now: number,
): Promise<void> {
  const next = nextCallMaxMicros ?? 0;
  if (limits.runMicros !== undefined && scope.runId) {
    const { micros } = await ledger.spent({ runId: scope.runId });
    if (micros + next > limits.runMicros) {
      const phases = await ledger.spentByPhase(scope.runId);
      const detail = phases.map((p) => `${p.phase} ${formatUsd(p.micros)}`).join(", ");
      throw new BudgetExceededError(
        "run",
        limits.runMicros,
        micros,
        next,
        `budget ${formatUsd(limits.runMicros)} reached in ${where(scope)}: ${formatUsd(micros)} spent${detail ? ` (${detail})` : ""}, and the next call could cost up to ${formatUsd(next)}`,
      );
    }
  }
  const phaseCap = limits.phaseMicros?.[scope.phase];
  if (phaseCap !== undefined && scope.runId) {
    const { micros } = await ledger.spent({ runId: scope.runId, phase: scope.phase });
    if (micros + next > phaseCap) {
      throw new BudgetExceededError(
        "phase",
        phaseCap,
        micros,
        next,
        `the ${scope.phase} budget ${formatUsd(phaseCap)} reached in ${where(scope)}: ${formatUsd(micros)} spent in ${scope.phase}, and the next call could cost up to ${formatUsd(next)}`,
      );
    }
  }
  if (limits.dailyMicros !== undefined && scope.installationId !== undefined) {
    const { micros } = await ledger.spent({ installationId: scope.installationId, since: startOfUtcDay(now) });
    if (micros + next > limits.dailyMicros) {
      throw new BudgetExceededError(
        "daily",
        limits.dailyMicros,
        micros,
        next,
        `the daily budget ${formatUsd(limits.dailyMicros)} of this installation reached in ${where(scope)}: ${formatUsd(micros)} spent today (UTC), and the next call could cost up to ${formatUsd(next)}`,
      );
    }
  }
}
