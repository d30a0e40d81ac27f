/**
 * The metered model client: the only way phases and agents reach a model. For each call it
 * picks the model from the phase's tier (a model without a price is refused before any call),
 * reserves the call's worst case against the budgets (src/llm/budget.ts), waits for the shared
 * rate limiter, makes the attempt, and writes one `llm_calls` row per attempt (successful or not,
 * settling the reservation) before the caller sees the result. Retries, backoff and
 * fallback to another model of the same tier happen here, inside the run's deadline.
 */
import type { Logger } from "pino";
import type { ModelPhase, RepoConfig, Tier } from "../config/repo-config.js";
import type { Ledger } from "../stores/ledger.js";
import { FinalError } from "../errors.js";
import type { BudgetStore } from "../stores/budget.js";
import { reserveBudget, type BudgetLimits, type OperatorCaps } from "./budget.js";
import { systemClock, type Clock } from "./clock.js";
import { DeadlineExceededError, ModelCallError, RETRYABLE } from "./errors.js";
import type { ModelPort, ModelRequest, ModelResponse, Usage } from "./model.js";
import { UNKNOWN_USAGE, ZERO_USAGE } from "./model.js";
import { usdToMicros } from "./money.js";
import type { PriceBook } from "./pricing.js";
import { cacheUse, MAX_BREAKPOINTS } from "./prompt-cache.js";
import type { RateLimiter } from "./rate-limiter.js";
import { completeUsage } from "./usage.js";
import { observeModelAttempt, type ModelTelemetry } from "../observability/model-calls.js";

export interface CallContext {
  runId?: string;
  installationId?: number;
  phase: ModelPhase | (string & {});
  agent?: string;
  iteration?: number;
  /** The prompt template this call rendered (id and sha256 of the rendered text). */
  prompt?: { id: string; sha256: string };
}

export interface MeteredCall {
  context: CallContext;
  request: Omit<ModelRequest, "model">;
  /** Overrides the phase's tier. */
  tier?: Tier;
  signal?: AbortSignal;
  /** Epoch milliseconds; no wait (rate limit, backoff) may end after it. */
  deadline?: number;
}

export interface MeteredResponse extends ModelResponse {
  /** The model that answered (a fallback, when the tier's own model stayed overloaded). */
  model: string;
  tier: Tier;
  costMicros: number | null;
  /** The `llm_calls` row of the successful attempt. */
  ledgerId: number;
}

export interface RetryPolicy {
  /** Attempts per call, all models together. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive overloads of one model before switching to the tier's next model. */
  fallbackAfter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 8000, fallbackAfter: 2 };

/** A request with more cache breakpoints than the API takes (a bug in how it was built). */
export class TooManyBreakpointsError extends FinalError {
  override name = "TooManyBreakpointsError";
}

/** A model with no price: its calls could not be counted against any budget, so none is made. */
export class UnpricedModelError extends FinalError {
  override name = "UnpricedModelError";
}

export interface MeteredModelDeps {
  port: ModelPort;
  ledger: Ledger;
  /** Reservations of calls in flight, and the operator's per-installation caps. */
  budget: BudgetStore;
  /** The operator's caps (the environment's defaults). */
  operatorCaps: OperatorCaps;
  prices: PriceBook;
  limiter: RateLimiter;
  config: Pick<RepoConfig, "tiers" | "phases" | "fallbacks" | "budget">;
  log: Logger;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
  /** Jitter source in [0, 1); tests pin it. */
  random?: () => number;
  /** A run's cap raised by `/budget` replaces the config's. */
  /** The run's cap; a function when it can change during the run (`/budget`). */
  runBudgetMicros?: number | (() => number);
  /** Where each attempt is reported once it has ended (spans, the GenAI histograms). */
  telemetry?: ModelTelemetry;
}

/** What a thrown ModelCallError means to the person reading the run's report. */
/** Where a model id was configured: `tiers.deep`, or `fallbacks.deep[0]` for the tier's first fallback. */
interface ModelSource {
  model: string;
  key: string;
  phase: string;
}

/** The config key a tier's model came from: `tiers.deep`, or `fallbacks.deep[0]` for its first fallback. */
const configKey = (tier: string, index: number) => (index === 0 ? `tiers.${tier}` : `fallbacks.${tier}[${index - 1}]`);

function explain(error: ModelCallError, at: ModelSource): string {
  switch (error.kind) {
    case "spend_limit":
      return `the Anthropic account's spend limit is reached (${error.message}); raise it in the Anthropic console, then /retry`;
    case "auth":
      return `the Anthropic API rejected the key (${error.message}); check ANTHROPIC_API_KEY`;
    case "permission":
      return `the Anthropic API key may not use this model (${error.message})`;
    case "not_found":
      return `the Anthropic API does not know the model ${at.model} (${error.message}): it is \`${at.key}\` in .github/tollgate.yml (the ${at.phase} phase's tier); set a current model id there (\`tollgate prices\` lists them), and check the model ids under tiers: and fallbacks:`;
    case "bad_request":
      return `the model API refused the request (${error.message})`;
    default:
      return error.message;
  }
}

export class MeteredModel {
  readonly #d: MeteredModelDeps;
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  #allPriced = false;

  constructor(deps: MeteredModelDeps) {
    this.#d = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.#random = deps.random ?? Math.random;
  }

  /** The tier and model a phase runs on. */
  modelFor(phase: string, tier?: Tier): { tier: Tier; models: string[] } {
    const { tiers, phases, fallbacks } = this.#d.config;
    const t = tier ?? (phases as Record<string, Tier>)[phase] ?? "standard";
    return { tier: t, models: [tiers[t], ...fallbacks[t].filter((m) => m !== tiers[t])] };
  }

  #limits(): BudgetLimits {
    const b = this.#d.config.budget;
    const phaseMicros = Object.fromEntries(
      Object.entries(b.phase_usd).flatMap(([phase, usd]) => (usd === undefined ? [] : [[phase, usdToMicros(usd)]])),
    );
    const run = typeof this.#d.runBudgetMicros === "function" ? this.#d.runBudgetMicros() : this.#d.runBudgetMicros;
    return {
      runMicros: run ?? usdToMicros(b.run_usd),
      phaseMicros,
      dailyMicros: b.daily_usd === undefined ? undefined : usdToMicros(b.daily_usd),
    };
  }

  /** What a call of `phase` on its tier's first model could cost at most, in micro-dollars (null: no price). */
  worstCaseOf(phase: string, request: Omit<ModelRequest, "model">): number | null {
    return this.#worstCase(this.modelFor(phase).models[0]!, request, estimateInputTokens(request));
  }

  #worstCase(model: string, request: Omit<ModelRequest, "model">, inputEstimate: number): number | null {
    const cache = cacheUse(request);
    return this.#d.prices.worstCase(model, inputEstimate, request.maxTokens, cache.oneHour ? "1h" : cache.breakpoints ? "5m" : "none");
  }

  /** Reserves the call's worst case against every budget (a model without a price is refused here). */
  async #reserve(model: string, call: MeteredCall, inputEstimate: number): Promise<{ id: number; micros: number }> {
    const { context } = call;
    const worst = this.#worstCase(model, call.request, inputEstimate);
    if (worst === null) {
      const message = `${model} has no price, so its calls cannot be counted against a budget: give its price in TOLLGATE_PRICES_FILE, or choose a priced model under tiers: in .github/tollgate.yml`;
      throw new UnpricedModelError(message);
    }
    const scope = { runId: context.runId, installationId: context.installationId, phase: context.phase, iteration: context.iteration ?? 0 };
    return { id: await reserveBudget(this.#d, this.#limits(), this.#d.operatorCaps, scope, worst, this.#clock.now()), micros: worst };
  }

  /**
   * Every model id of the config (each tier's and its fallbacks'), before the first call: one
   * without a price (an exact id or a dated snapshot of one, src/llm/pricing.ts) is refused with
   * its key, so that no invented id reaches the API, the ledger or a metric's `model` label.
   */
  #checkPriced(): void {
    if (this.#allPriced) return;
    const { tiers, fallbacks } = this.#d.config;
    const at = new Date(this.#clock.now());
    for (const tier of Object.keys(tiers) as Tier[]) {
      const configured = [tiers[tier], ...fallbacks[tier]];
      configured.forEach((model, index) => {
        if (this.#d.prices.find(model, at)) return;
        throw new UnpricedModelError(
          `${model} has no price, so its calls cannot be counted against a budget (it is \`${configKey(tier, index)}\` in .github/tollgate.yml; only exact model ids and their dated snapshots are priced, as \`tollgate prices\` lists them): give its price in TOLLGATE_PRICES_FILE, or choose a priced model under tiers: in .github/tollgate.yml`,
        );
      });
    }
    this.#allPriced = true;
  }

  async call(call: MeteredCall): Promise<MeteredResponse> {
    const { context } = call;
    this.#checkPriced();
    const { tier, models } = this.modelFor(context.phase, call.tier);
    const cache = cacheUse(call.request);
    // the API answers a fifth breakpoint with a 400: a mistake in how the request was built, refused before it is paid for
    if (cache.breakpoints > MAX_BREAKPOINTS)
      throw new TooManyBreakpointsError(
        `the ${context.phase} request carries ${cache.breakpoints} cache breakpoints; the API allows ${MAX_BREAKPOINTS}`,
      );
    const inputEstimate = estimateInputTokens(call.request);
    const log = this.#d.log.child({ phase: context.phase, agent: context.agent, run: context.runId });
    let modelIndex = 0;
    let overloads = 0;
    for (let attempt = 1; ; attempt++) {
      const model = models[modelIndex]!;
      const request: ModelRequest = { ...call.request, model };
      const held = await this.#reserve(model, call, inputEstimate);
      let reservation;
      try {
        reservation = await this.#d.limiter.acquire(model, inputEstimate, request.maxTokens, {
          deadline: call.deadline,
          signal: call.signal,
        });
      } catch (error) {
        await this.#d.budget.release(held.id); // the call was not made
        throw error;
      }
      const started = this.#clock.now();
      const sentAt = Date.now(); // the span's start, in real time whatever the clock
      let response: ModelResponse;
      try {
        response = await this.#d.port.call(request, { signal: call.signal });
      } catch (thrown) {
        const error =
          thrown instanceof ModelCallError
            ? thrown
            : new ModelCallError("stream", `the model call failed: ${(thrown as Error)?.message ?? thrown}`, { cause: thrown });
        const latency = this.#clock.now() - started;
        await reservation.release(); // a failed call gives its tokens back (the request it was still counts)
        if (error.details.headers) await this.#d.limiter.observe(model, error.details.headers);
        const usage = failedAttemptUsage(error, cache);
        await this.#record(context, tier, model, attempt, usage, latency, request, held, {
          error: error.message,
          errorKind: error.kind,
          requestId: error.details.requestId ?? null,
          sentAt,
        });
        if (!RETRYABLE.has(error.kind)) {
          const why = explain(error, { model, key: configKey(tier, modelIndex), phase: String(context.phase) });
          log.error({ model, kind: error.kind, requestId: error.details.requestId }, why);
          throw new ModelCallError(error.kind, why, error.details);
        }
        if (attempt >= this.#retry.maxAttempts) {
          throw new ModelCallError(error.kind, `${error.message} (gave up after ${attempt} attempts)`, error.details);
        }
        let delay: number;
        if (error.kind === "rate_limit") {
          delay = error.details.retryAfterMs ?? this.#backoff(attempt);
          await this.#d.limiter.block(model, delay);
          overloads = 0;
        } else {
          delay = this.#backoff(attempt);
          overloads++;
          if (overloads >= this.#retry.fallbackAfter && modelIndex < models.length - 1) {
            modelIndex++;
            overloads = 0;
            log.warn(
              { from: model, to: models[modelIndex] },
              `${model} keeps failing (${error.kind}); falling back to ${models[modelIndex]} of the ${tier} tier`,
            );
          }
        }
        if (call.deadline !== undefined && this.#clock.now() + delay > call.deadline) {
          throw new DeadlineExceededError(`${error.message}; retrying in ${Math.ceil(delay / 1000)} s would pass the run's deadline`);
        }
        log.warn({ model, kind: error.kind, attempt, delayMs: Math.round(delay) }, `model call failed (${error.kind}); retrying`);
        await this.#clock.sleep(delay, call.signal);
        continue;
      }
      const latency = this.#clock.now() - started;
      // the input-token limit counts what was not read from the cache (cache writes included)
      const counted = response.usage.inputTokens === null ? null : response.usage.inputTokens + (response.usage.cacheWriteTokens ?? 0);
      await reservation.release({ inputTokens: counted, outputTokens: response.usage.outputTokens });
      await this.#d.limiter.observe(model, response.headers);
      for (const problem of response.usageProblems)
        log.warn({ model, requestId: response.requestId, raw: response.usage.raw }, `implausible usage rejected: ${problem}`);
      const usage = completeUsage(response.usage, cache);
      const { id, costMicros } = await this.#record(context, tier, model, attempt, usage, latency, request, held, {
        stopReason: response.stopReason,
        requestId: response.requestId,
        response,
        sentAt,
      });
      if (costMicros === null) log.warn({ model }, `cost of this ${model} call is unknown (no price for the model, or usage not reported)`);
      return { ...response, usage, model, tier, costMicros, ledgerId: id };
    }
  }

  /** Exponential backoff with full jitter. */
  #backoff(attempt: number): number {
    const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    return cap / 2 + (this.#random() * cap) / 2;
  }

  async #record(
    context: CallContext,
    tier: Tier,
    model: string,
    attempt: number,
    usage: Usage,
    latencyMs: number,
    request: ModelRequest,
    reservation: { id: number; micros: number },
    outcome: {
      stopReason?: string | null;
      requestId?: string | null;
      error?: string;
      errorKind?: string;
      response?: ModelResponse;
      sentAt: number;
    },
  ): Promise<{ id: number; costMicros: number | null }> {
    const costMicros = this.#d.prices.cost(model, usage, new Date(this.#clock.now()));
    const id = await this.#d.ledger.record(
      {
        runId: context.runId ?? null,
        installationId: context.installationId ?? null,
        phase: context.phase,
        agent: context.agent ?? null,
        iteration: context.iteration ?? 0,
        attempt,
        provider: this.#d.port.provider,
        tier,
        model,
        status: outcome.error ? "error" : "ok",
        usage,
        costMicros,
        latencyMs,
        stopReason: outcome.stopReason ?? null,
        requestId: outcome.requestId ?? null,
        promptId: context.prompt?.id ?? null,
        promptSha256: context.prompt?.sha256 ?? null,
        error: outcome.error ?? null,
        errorKind: outcome.errorKind ?? null,
        streamed: request.stream ?? false,
      },
      reservation,
    );
    const { provider } = this.#d.port;
    const reported = { provider, context, tier, attempt, request, usage, costMicros, startedAt: outcome.sentAt, latencyMs };
    observeModelAttempt(this.#d.telemetry, { ...reported, response: outcome.response, errorKind: outcome.errorKind });
    return { id, costMicros };
  }
}

/**
 * What a failed attempt used. A stream cut mid-way reported its usage so far (the input was
 * billed): that is kept. An HTTP error answer (429, 529, 500…) produced no tokens: zero, as the
 * provider bills it. A connection failure or timeout may or may not have been processed: unknown.
 */
function failedAttemptUsage(error: ModelCallError, cache: { breakpoints: number; oneHour: boolean }): Usage {
  if (error.details.usage) return completeUsage(error.details.usage, cache);
  if (error.details.status !== undefined) return { ...ZERO_USAGE };
  return UNKNOWN_USAGE;
}

/** A conservative input size: about 3 characters per token over everything sent. */
export function estimateInputTokens(request: Omit<ModelRequest, "model">): number {
  const size = JSON.stringify([request.system ?? "", request.tools ?? [], request.messages]).length;
  return Math.ceil(size / 3);
}
