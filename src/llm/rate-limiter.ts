/**
 * The rate limiter every model call goes through, fed by Anthropic's
 * `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
 * headers and by 429s' `retry-after`. Limits are token buckets refilled continuously
 * (src/llm/token-bucket.ts): a call waits only until the buckets cover it, and after a 429 only
 * for its `retry-after` (and the refill of one request), never for a whole window.
 *
 * Where the buckets live is a `LimiterStore`: this process's memory (the embedded database, one
 * process), or PostgreSQL (src/stores/rate-limits.ts), where every worker process takes from the
 * same buckets in a transaction, so N workers together stay under the organisation's limits.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import { DeadlineExceededError } from "./errors.js";
import {
  emptyLimits,
  finish,
  giveBack,
  LIMIT_KINDS,
  observe,
  readyAt,
  take,
  type LimitKind,
  type ModelLimits,
  type Need,
  type Observed,
} from "./token-bucket.js";

/** Reads and changes one model's limits atomically; `now` is the store's clock in ms. */
export interface LimiterStore {
  update<T>(model: string, change: (limits: ModelLimits, now: number) => T): Promise<T>;
}

/** The limits in this process's memory (an update is synchronous, so atomic). */
export class MemoryLimiterStore implements LimiterStore {
  readonly #models = new Map<string, ModelLimits>();

  constructor(private readonly clock: Clock = systemClock) {}

  async update<T>(model: string, change: (limits: ModelLimits, now: number) => T): Promise<T> {
    const limits = this.#models.get(model) ?? emptyLimits();
    this.#models.set(model, limits);
    return change(limits, this.clock.now());
  }
}

export interface Reservation {
  /** The call ended: what it did not use goes back (its usage, when it has one). */
  release(used?: { inputTokens?: number | null; outputTokens?: number | null }): Promise<void>;
}

/** The headers' names for each bucket, in order of preference. */
const HEADERS: Record<LimitKind, string[]> = {
  requests: ["requests"],
  input: ["input-tokens", "tokens"],
  output: ["output-tokens"],
};

export class RateLimiter {
  readonly #store: LimiterStore;

  constructor(
    private readonly clock: Clock = systemClock,
    store?: LimiterStore,
  ) {
    this.#store = store ?? new MemoryLimiterStore(clock);
  }

  /**
   * Waits until a call of `inputTokens` in and up to `outputTokens` out fits the model's buckets,
   * then takes it from them. Throws `DeadlineExceededError` rather than wait past `deadline`.
   */
  async acquire(
    model: string,
    inputTokens: number,
    outputTokens: number,
    options: { deadline?: number; signal?: AbortSignal } = {},
  ): Promise<Reservation> {
    const need: Need = { requests: 1, input: inputTokens, output: outputTokens };
    const id = randomUUID();
    for (;;) {
      const wait = await this.#store.update(model, (limits, now) => {
        const at = readyAt(limits, need, now);
        if (at > now) return at - now;
        take(limits, need, now, id);
        return 0;
      });
      if (wait <= 0) break;
      const local = this.clock.now();
      if (options.deadline !== undefined && local + wait > options.deadline) {
        throw new DeadlineExceededError(
          `the ${model} rate limit lets the next call go in ${Math.ceil(wait / 1000)} s, after the run's deadline`,
        );
      }
      await this.clock.sleep(Math.min(wait, 60_000), options.signal);
    }
    let released = false;
    return {
      release: async (used) => {
        if (released) return;
        released = true;
        const unused = {
          input: used ? inputTokens - (used.inputTokens ?? inputTokens) : inputTokens,
          output: used ? outputTokens - (used.outputTokens ?? outputTokens) : outputTokens,
        };
        await this.#store.update(model, (limits, now) => {
          giveBack(limits, unused, now);
          finish(limits, id);
        });
      },
    };
  }

  /** Reads the rate-limit headers of a response (successful or not). */
  async observe(model: string, headers: Record<string, string>): Promise<void> {
    const seen: Array<[LimitKind, Observed]> = [];
    for (const kind of LIMIT_KINDS) {
      for (const name of HEADERS[kind]) {
        const limit = Number(headers[`anthropic-ratelimit-${name}-limit`]);
        const remaining = Number(headers[`anthropic-ratelimit-${name}-remaining`]);
        if (headers[`anthropic-ratelimit-${name}-remaining`] === undefined || !Number.isFinite(remaining)) continue;
        seen.push([kind, { limit: Number.isFinite(limit) && limit > 0 ? limit : Math.max(remaining, 1), remaining }]);
        break;
      }
    }
    if (!seen.length) return;
    await this.#store.update(model, (limits, now) => {
      for (const [kind, observed] of seen) observe(limits, kind, observed, now);
    });
  }

  /** After a 429: nobody calls this model for `ms` (its `retry-after`). */
  async block(model: string, ms: number): Promise<void> {
    await this.#store.update(model, (limits, now) => {
      limits.blockedUntil = Math.max(limits.blockedUntil, now + ms);
    });
  }
}
