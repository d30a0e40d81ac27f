/**
 * Budgets that cannot be overrun. Before every model call its worst case is reserved (src/stores/
 * budget.ts) against what was spent plus what other calls have reserved, for three caps: the run,
 * the phase of the run, and the installation's UTC day. A call that could take spending past a cap
 * is not made. The call's ledger row settles the reservation; a call of unknown cost counts as
 * what it reserved, never as $0.
 *
 * The caps belong to whoever pays: the operator's (the environment, or `tollgate caps` for one
 * installation) bound them; a repository's config may lower them, never raise them.
 */
import type { BudgetStore, Committed, InstallationCaps } from "../stores/budget.js";
import type { Ledger } from "../stores/ledger.js";
import { BudgetExceededError } from "./errors.js";
import { formatUsd } from "./money.js";

/** The operator's caps: per installation per UTC day, and the most one run may spend. */
export interface OperatorCaps {
  dailyMicros: number;
  runMicros: number;
  /** The fraction of the daily cap at which a run's sticky comment says the cap is near (0.8). */
  warnAt?: number;
}

export interface BudgetLimits {
  runMicros?: number;
  phaseMicros?: Partial<Record<string, number>>;
  /** The repository's own daily cap: it may only lower the operator's. */
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

/** The caps in force: the operator's (an installation's own, or the defaults), lowered by the repository's. */
export function capsInForce(
  limits: BudgetLimits,
  operator: OperatorCaps,
  installation: InstallationCaps | undefined,
): Required<BudgetLimits> {
  const daily = installation?.dailyMicros ?? operator.dailyMicros;
  const run = installation?.runMicros ?? operator.runMicros;
  return {
    runMicros: Math.min(limits.runMicros ?? run, run),
    phaseMicros: limits.phaseMicros ?? {},
    dailyMicros: Math.min(limits.dailyMicros ?? daily, daily),
  };
}

/**
 * Reserves the call's worst case, or throws `BudgetExceededError` saying which cap and where the
 * money went. Returns the reservation's id, for the ledger row to settle.
 */
export async function reserveBudget(
  stores: { budget: BudgetStore; ledger: Pick<Ledger, "spentByPhase"> },
  limits: BudgetLimits,
  operator: OperatorCaps,
  scope: BudgetScope,
  worstMicros: number,
  now: number,
): Promise<number> {
  const spend = { runId: scope.runId, installationId: scope.installationId, phase: scope.phase, since: startOfUtcDay(now) };
  try {
    return await stores.budget.reserve(spend, worstMicros, (committed, installation) => {
      const over = overCap(capsInForce(limits, operator, installation), committed, scope, worstMicros);
      if (over) throw over;
    });
  } catch (error) {
    if (!(error instanceof BudgetExceededError) || error.scope !== "run" || !scope.runId) throw error;
    // where the run's money went, phase by phase
    const phases = await stores.ledger.spentByPhase(scope.runId);
    const detail = phases.map((p) => `${p.phase} ${formatUsd(p.micros)}`).join(", ");
    if (!detail) throw error;
    const message = error.message.replace(" spent or in flight,", ` spent or in flight (${detail}),`);
    throw new BudgetExceededError("run", error.limitMicros, error.spentMicros, error.nextCallMaxMicros, message);
  }
}

/**
 * A line for the run's sticky comment when the installation's day is past `fraction` of its
 * daily cap (the operator's TOLLGATE_CAP_WARN_AT), or undefined.
 */
export async function nearDailyCap(
  store: BudgetStore,
  installationId: number,
  repoDailyMicros: number | undefined,
  operator: OperatorCaps,
  now: number,
): Promise<string | undefined> {
  const caps = capsInForce({ dailyMicros: repoDailyMicros }, operator, await store.caps(installationId));
  const spent = await store.committedToday(installationId, startOfUtcDay(now));
  if (spent < caps.dailyMicros * (operator.warnAt ?? 0.8)) return undefined;
  return `This installation has spent ${formatUsd(spent)} of its ${formatUsd(caps.dailyMicros)} daily cap today (UTC): runs stop when it is reached, until midnight UTC or until the operator raises it (\`tollgate caps\`).`;
}

function overCap(caps: Required<BudgetLimits>, spent: Committed, scope: BudgetScope, next: number): BudgetExceededError | undefined {
  const tail = `and the next call could cost up to ${formatUsd(next)}`;
  if (scope.runId && spent.run + next > caps.runMicros) {
    const message = `budget ${formatUsd(caps.runMicros)} reached in ${where(scope)}: ${formatUsd(spent.run)} spent or in flight, ${tail}`;
    return new BudgetExceededError("run", caps.runMicros, spent.run, next, message);
  }
  const phaseCap = caps.phaseMicros[scope.phase];
  if (phaseCap !== undefined && scope.runId && spent.phase + next > phaseCap) {
    const message = `the ${scope.phase} budget ${formatUsd(phaseCap)} reached in ${where(scope)}: ${formatUsd(spent.phase)} spent or in flight in ${scope.phase}, ${tail}`;
    return new BudgetExceededError("phase", phaseCap, spent.phase, next, message);
  }
  if (scope.installationId !== undefined && spent.daily + next > caps.dailyMicros) {
    const message = `the daily budget ${formatUsd(caps.dailyMicros)} of this installation reached in ${where(scope)}: ${formatUsd(spent.daily)} spent or in flight today (UTC), ${tail}`;
    return new BudgetExceededError("daily", caps.dailyMicros, spent.daily, next, message);
  }
  return undefined;
}
