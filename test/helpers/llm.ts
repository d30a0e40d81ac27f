/** The metered model wired to a scripted model, a fresh ledger and a clock the test controls. */
import type { Logger } from "pino";
import { parseRepoConfig, type RepoConfigInput } from "../../src/config/repo-config.js";
import type { Database } from "../../src/db/database.js";
import { Ledger } from "../../src/stores/ledger.js";
import { BudgetStore } from "../../src/stores/budget.js";
import type { OperatorCaps } from "../../src/llm/budget.js";
import { DEFAULT_OPERATOR_CAPS } from "../../src/app/model.js";
import type { Clock } from "../../src/llm/clock.js";
import { MeteredModel, type RetryPolicy } from "../../src/llm/metered-model.js";
import { PRICE_OVERRIDES } from "../../src/llm/prices.js";
import type { ModelPrice } from "../../src/config/price-list.js";
import { PriceBook } from "../../src/llm/pricing.js";
import { RateLimiter } from "../../src/llm/rate-limiter.js";
import { ScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import type { ModelTelemetry } from "../../src/observability/model-calls.js";

/** A clock whose sleeps pass at once, recording how long they were. */
/**
 * The tiers the tests' hand-computed costs are priced on (Opus 4.7, Sonnet 4.6, Haiku 4.5), named
 * so that a change of Tollgate's default tiers does not move them; the defaults themselves are
 * tested in test/unit/config/repo-config.test.ts.
 */
export const TEST_TIERS = { deep: "claude-opus-4-7", standard: "claude-sonnet-4-6", light: "claude-haiku-4-5" } as const;

export function fakeClock(start = Date.parse("2026-11-28T12:00:00Z")): Clock & { sleeps: number[]; advance(ms: number): void } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms) => void (now += ms),
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
    },
  };
}

export interface MeteredSetup {
  model: MeteredModel;
  scripted: ScriptedModel;
  ledger: Ledger;
  clock: ReturnType<typeof fakeClock>;
  limiter: RateLimiter;
}

export function meteredSetup(
  db: Database,
  log: Logger,
  steps: ScriptStep[],
  options: {
    config?: RepoConfigInput;
    retry?: Partial<RetryPolicy>;
    clock?: ReturnType<typeof fakeClock>;
    operatorCaps?: OperatorCaps;
    /** Prices the operator adds (TOLLGATE_PRICES_FILE). */
    prices?: ModelPrice[];
    /** Where attempts are reported (the GenAI histograms). */
    telemetry?: ModelTelemetry;
  } = {},
): MeteredSetup {
  const clock = options.clock ?? fakeClock();
  const scripted = new ScriptedModel(steps);
  const ledger = new Ledger(db);
  const limiter = new RateLimiter(clock);
  const model = new MeteredModel({
    port: scripted,
    ledger,
    budget: new BudgetStore(db),
    operatorCaps: options.operatorCaps ?? DEFAULT_OPERATOR_CAPS,
    prices: new PriceBook(PRICE_OVERRIDES, options.prices ?? []),
    limiter,
    config: parseRepoConfig({ ...options.config, tiers: { ...TEST_TIERS, ...options.config?.tiers } }),
    log,
    clock,
    retry: options.retry,
    random: () => 0.5,
    telemetry: options.telemetry,
  });
  return { model, scripted, ledger, clock, limiter };
}

/** Inserts a run row (the ledger's foreign key) and returns its id. */
export async function insertRun(
  db: Database,
  overrides: { issue?: number; budgetMicros?: number; installationId?: number } = {},
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, budget_usd_micros, status)
     VALUES ($1, 7, 'octo', 'app', $2, $3, 'running') RETURNING id`,
    [overrides.installationId ?? 1, overrides.issue ?? 1, overrides.budgetMicros ?? 5_000_000],
  );
  return rows[0]!.id;
}

/**
 * Holds the scripted model's answers in flight until the returned function is called, so a test
 * decides what happens while a call is out (instead of a latency that may run out first).
 */
export function holdAnswers(model: ScriptedModel): () => void {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const answer = model.call.bind(model);
  model.call = async (request, options) => {
    const response = await answer(request, options);
    await released;
    return response;
  };
  return release;
}
