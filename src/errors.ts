/**
 * Tollgate's error hierarchy. Every error raised on purpose says whether trying again could
 * help, so a job decides "final or retry?" by asking the error, not by keeping lists:
 *   - `FinalError`: a retry would only repeat the failure (and pay for it again): a model's
 *     unusable answers, an agent out of turns, a budget, an invalid config, a refused path.
 *     The job ends and says why where the user will see it.
 *   - `RetryableError`: it may pass (a database not reachable yet).
 *   - `ModelCallError` decides by its kind (a 429 may pass, a 401 will not).
 * An error that is not a `TollgateError` (GitHub down, a crash) is retried by the queue; the run
 * resumes from its checkpoints.
 */
export abstract class TollgateError extends Error {
  /** True when trying again would only repeat the failure. */
  abstract readonly final: boolean;
}

export class FinalError extends TollgateError {
  readonly final: boolean = true;
}

export class RetryableError extends TollgateError {
  readonly final: boolean = false;
}

/** True for an error of Tollgate's own that a retry cannot fix. */
export function isFinal(error: unknown): boolean {
  return error instanceof TollgateError && error.final;
}
