/**
 * The app's webhook deliveries as GitHub keeps them (GET /app/hook/deliveries) and asking GitHub
 * to send one again (POST /app/hook/deliveries/{delivery_id}/attempts). Both take the app's own
 * JWT, not an installation token.
 */
import type { Octokit } from "./issues.js";

/** One attempt to deliver an event: a redelivery is listed as its own attempt, with the same guid. */
export interface DeliveryAttempt {
  /** The attempt's id, what a redelivery names. */
  id: number;
  /** `X-GitHub-Delivery`, shared by every attempt of one event. */
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  /** "OK" when the app answered 2xx; otherwise GitHub's reason ("Invalid HTTP Response: 503", "timed out"). */
  status: string;
  /** The app's HTTP answer; 0 when it did not answer at all. */
  statusCode: number;
  event: string;
  action: string | null;
}

/** GitHub refused for its rate limit: `retryAt` is when asking again makes sense. */
export class HookRateLimitError extends Error {
  override name = "HookRateLimitError";
  constructor(
    readonly status: number,
    readonly retryAt: Date,
  ) {
    super(`GitHub's rate limit (HTTP ${status}): try again after ${retryAt.toISOString()}`);
  }
}

interface RawAttempt {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
}

/**
 * The deliveries' pages, newest first, 100 a page. Octokit's paginate follows the `Link`
 * header's next URL, which carries GitHub's cursor for this endpoint. Stops after `maxPages`;
 * the caller stops earlier by leaving the loop (no further page is asked for).
 */
export async function* deliveryPages(app: Octokit, maxPages: number, now: () => number = Date.now): AsyncGenerator<DeliveryAttempt[]> {
  let pages = 0;
  const iterator = app.paginate.iterator("GET /app/hook/deliveries", { per_page: 100 });
  try {
    for await (const page of iterator) {
      yield (page.data as RawAttempt[]).map(attempt);
      if (++pages >= maxPages) return;
    }
  } catch (error) {
    throw rateLimited(error, now) ?? error;
  }
}

/** Asks GitHub to deliver an attempt's event again (GitHub answers 202 and delivers it soon after). */
export async function redeliver(app: Octokit, id: number, now: () => number = Date.now): Promise<void> {
  try {
    await app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: id });
  } catch (error) {
    throw rateLimited(error, now) ?? error;
  }
}

function attempt(raw: RawAttempt): DeliveryAttempt {
  return {
    id: raw.id,
    guid: raw.guid,
    deliveredAt: new Date(raw.delivered_at),
    redelivery: raw.redelivery,
    status: raw.status,
    statusCode: raw.status_code,
    event: raw.event,
    action: raw.action ?? null,
  };
}

/**
 * A 429, or a 403 that says it is the rate limit (no requests left, or a `retry-after`), as a
 * HookRateLimitError with when to try again: `retry-after` seconds, else the limit's reset,
 * else a minute. Any other error: undefined.
 */
export function rateLimited(error: unknown, now: () => number = Date.now): HookRateLimitError | undefined {
  const e = error as { status?: number; response?: { headers?: Record<string, string | number | undefined> } };
  if (e?.status !== 403 && e?.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  const remaining = headers["x-ratelimit-remaining"];
  const reset = Number(headers["x-ratelimit-reset"]);
  // a 403 for a missing permission is not the rate limit: nothing to wait for
  if (e.status === 403 && !(retryAfter > 0) && String(remaining) !== "0") return undefined;
  const at = retryAfter > 0 ? now() + retryAfter * 1000 : String(remaining) === "0" && reset > 0 ? reset * 1000 : now() + 60_000;
  return new HookRateLimitError(e.status, new Date(Math.max(at, now())));
}
