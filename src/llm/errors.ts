import type { Usage } from "./model.js";
import { FinalError, TollgateError } from "../errors.js";

/**
 * Why a model call failed, as far as Tollgate's retry policy cares:
 * - `rate_limit`: 429, wait for `retry-after` and try again;
 * - `spend_limit`: the account's spend or usage limit: never retried;
 * - `overloaded` (529), `server` (5xx), `stream` (an error after the answer began),
 *   `connection`, `timeout`, `invalid_response` (e.g. a 200 that is not JSON): back off, retry;
 * - `auth` (401), `permission` (403), `bad_request` (400, 413, 422), `not_found` (404): fail fast;
 * - `aborted`: the caller cancelled.
 */
export type ModelErrorKind =
  | "rate_limit"
  | "spend_limit"
  | "overloaded"
  | "server"
  | "stream"
  | "connection"
  | "timeout"
  | "invalid_response"
  | "auth"
  | "permission"
  | "bad_request"
  | "not_found"
  | "aborted";

export const RETRYABLE: ReadonlySet<ModelErrorKind> = new Set([
  "rate_limit",
  "overloaded",
  "server",
  "stream",
  "connection",
  "timeout",
  "invalid_response",
]);

export class ModelCallError extends TollgateError {
  override name = "ModelCallError";
  /** A rate limit or an outage may pass; a refused or malformed request will not. */
  get final(): boolean {
    return !RETRYABLE.has(this.kind);
  }
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    readonly details: {
      status?: number;
      retryAfterMs?: number;
      requestId?: string | null;
      headers?: Record<string, string>;
      /** What the provider reported before the failure (a stream cut mid-way was billed). */
      usage?: Usage;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
  }
}

/** A call was not made because it could have exceeded a budget. */
export class BudgetExceededError extends FinalError {
  override name = "BudgetExceededError";
  constructor(
    readonly scope: "run" | "phase" | "daily",
    readonly limitMicros: number,
    readonly spentMicros: number,
    readonly nextCallMaxMicros: number,
    message: string,
  ) {
    super(message);
  }
}

/** Waiting (for a rate limit to reset, or to retry) would pass the run's deadline. */
export class DeadlineExceededError extends FinalError {
  override name = "DeadlineExceededError";
}
