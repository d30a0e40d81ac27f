import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import { Ledger } from "../stores/ledger.js";
import { BudgetStore } from "../stores/budget.js";
import type { OperatorCaps } from "../llm/budget.js";
import { AnthropicModel } from "../llm/anthropic.js";
import type { ModelPort } from "../llm/model.js";
import { MeteredModel } from "../llm/metered-model.js";
import { PRICE_OVERRIDES } from "../llm/prices.js";
import { PriceBook } from "../llm/pricing.js";
import { RateLimiter } from "../llm/rate-limiter.js";
import { systemClock } from "../llm/clock.js";
import { PgLimiterStore } from "../stores/rate-limits.js";
import { FinalError } from "../errors.js";
import type { ModelTelemetry } from "../observability/model-calls.js";

/** What every run of this process shares: the model port, prices, the rate limiter, the ledger and the budgets. */
export interface ModelServices {
  port: ModelPort;
  prices: PriceBook;
  limiter: RateLimiter;
  ledger: Ledger;
  budget: BudgetStore;
  operatorCaps: OperatorCaps;
  /** Where each call attempt is reported (the process's GenAI histograms); spans need nothing. */
  telemetry?: ModelTelemetry;
}

/** The environment's defaults (TOLLGATE_DAILY_USD, TOLLGATE_RUN_USD_MAX), for callers without an environment. */
export const DEFAULT_OPERATOR_CAPS: OperatorCaps = { dailyMicros: 50_000_000, runMicros: 25_000_000 };

export class MissingApiKeyError extends FinalError {
  override name = "MissingApiKeyError";
}

/** The Anthropic adapter on ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL (or the port given). */
export function modelServices(
  env: Pick<AppEnv, "anthropic" | "prices"> & { caps?: OperatorCaps },
  db: Database,
  port?: ModelPort,
): ModelServices {
  let model = port;
  if (!model) {
    if (!env.anthropic.apiKey) throw new MissingApiKeyError("ANTHROPIC_API_KEY is not set: Tollgate cannot call a model without it");
    model = new AnthropicModel({ apiKey: env.anthropic.apiKey, baseUrl: env.anthropic.baseUrl });
  }
  return {
    port: model,
    prices: priceBook(env),
    // on PostgreSQL every worker process takes from the same buckets; the embedded database has one process
    limiter: new RateLimiter(systemClock, db.kind === "postgres" ? new PgLimiterStore(db) : undefined),
    ledger: new Ledger(db),
    budget: new BudgetStore(db),
    operatorCaps: env.caps ?? DEFAULT_OPERATOR_CAPS,
  };
}

/** Prices: the operator's TOLLGATE_PRICES_FILE over Tollgate's overrides over @pydantic/genai-prices. */
export function priceBook(env: Pick<AppEnv, "prices">): PriceBook {
  return new PriceBook(PRICE_OVERRIDES, env.prices);
}

/** The metered client for one run: the repo's tiers, fallbacks and budgets over the shared services. */
export function meteredModel(
  services: ModelServices,
  config: RepoConfig,
  log: Logger,
  runBudgetMicros?: number | (() => number),
): MeteredModel {
  return new MeteredModel({ ...services, config, log, runBudgetMicros });
}
