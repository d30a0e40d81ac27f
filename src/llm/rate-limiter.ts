/**
 * A rate limiter shared by every agent in the process, fed by Anthropic's
 * `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
 * headers: parallel agents wait for the window to reset before they would hit a 429, and a 429
 * blocks the model until its `retry-after` has passed. Limits are per model.
 */
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import { DeadlineExceededError } from "./errors.js";

interface Window {
  remaining: number;
  resetAt: number;
}

interface ModelState {
  requests?: Window;
  inputTokens?: Window;
  outputTokens?: Window;
  blockedUntil: number;
  inFlight: number;
  reservedInput: number;
  reservedOutput: number;
}

export interface Reservation {
  release(): void;
}

export class RateLimiter {
  readonly #models = new Map<string, ModelState>();

  constructor(private readonly clock: Clock = systemClock) {}

  #state(model: string): ModelState {
    let state = this.#models.get(model);
    if (!state) {
      state = { blockedUntil: 0, inFlight: 0, reservedInput: 0, reservedOutput: 0 };
      this.#models.set(model, state);
    }
    return state;
  }

  /** When a call of this size may start (now, if nothing says otherwise). */
  #readyAt(state: ModelState, inputTokens: number, outputTokens: number, now: number): number {
    let at = state.blockedUntil;
    const exhausted = (w: Window | undefined, need: number) => w && w.resetAt > now && w.remaining < need;
    if (exhausted(state.requests, state.inFlight + 1)) at = Math.max(at, state.requests!.resetAt);
    if (exhausted(state.inputTokens, state.reservedInput + inputTokens)) at = Math.max(at, state.inputTokens!.resetAt);
    if (exhausted(state.outputTokens, state.reservedOutput + outputTokens)) at = Math.max(at, state.outputTokens!.resetAt);
    return at;
  }

  /**
   * Waits until a call of `inputTokens` in and up to `outputTokens` out fits the model's known
   * limits, then reserves it until `release()`. Throws `DeadlineExceededError` rather than wait
   * past `deadline`.
   */
  async acquire(
    model: string,
    inputTokens: number,
    outputTokens: number,
    options: { deadline?: number; signal?: AbortSignal } = {},
  ): Promise<Reservation> {
    const state = this.#state(model);
    for (;;) {
      const now = this.clock.now();
      const readyAt = this.#readyAt(state, inputTokens, outputTokens, now);
      if (readyAt <= now) break;
      if (options.deadline !== undefined && readyAt > options.deadline) {
        throw new DeadlineExceededError(
          `the ${model} rate limit resets in ${Math.ceil((readyAt - now) / 1000)} s, after the run's deadline`,
        );
      }
      await this.clock.sleep(readyAt - now, options.signal);
    }
    state.inFlight++;
    state.reservedInput += inputTokens;
    state.reservedOutput += outputTokens;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        state.inFlight--;
        state.reservedInput -= inputTokens;
        state.reservedOutput -= outputTokens;
      },
    };
  }

  /** Reads the rate-limit headers of a response (successful or not). */
  observe(model: string, headers: Record<string, string>): void {
    const state = this.#state(model);
    const now = this.clock.now();
    const window = (name: string): Window | undefined => {
      const remaining = Number(headers[`anthropic-ratelimit-${name}-remaining`]);
      const reset = Date.parse(headers[`anthropic-ratelimit-${name}-reset`] ?? "");
      if (!Number.isFinite(remaining) || headers[`anthropic-ratelimit-${name}-remaining`] === undefined) return undefined;
      return { remaining, resetAt: Number.isNaN(reset) ? now + 60_000 : reset };
    };
    state.requests = window("requests") ?? state.requests;
    state.inputTokens = window("input-tokens") ?? window("tokens") ?? state.inputTokens;
    state.outputTokens = window("output-tokens") ?? state.outputTokens;
  }

  /** After a 429: nobody calls this model before `until`. */
  block(model: string, until: number): void {
    const state = this.#state(model);
    state.blockedUntil = Math.max(state.blockedUntil, until);
  }
}
