/**
 * Anthropic's rate limits as the token buckets they are. Each limit (requests, input tokens,
 * output tokens per minute, per model) refills continuously up to its capacity; the
 * `anthropic-ratelimit-*-reset` header says when the bucket will be *full* again, not when the
 * next request may go. So a bucket here is its capacity, its level at a moment, and its refill
 * rate, and a call may start as soon as the level covers it: after a 429 on a 50-requests-a-minute
 * limit, the next request waits 1.2 s, not a minute.
 *
 * Pure functions over plain data, so the same state can live in process or in PostgreSQL
 * (src/stores/rate-limits.ts) and be shared by every worker.
 */
export const LIMIT_KINDS = ["requests", "input", "output"] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];

export interface Bucket {
  capacity: number;
  /** The level at `at` (may be below zero: calls taken on credit wait for the refill). */
  tokens: number;
  /** Tokens added per millisecond. */
  ratePerMs: number;
  /** When `tokens` was true (ms on the limiter's clock). */
  at: number;
}

/** What the limiter keeps for one model. */
export interface ModelLimits {
  buckets: Partial<Record<LimitKind, Bucket>>;
  /** No call before this (a 429's `retry-after`), ms on the limiter's clock. */
  blockedUntil: number;
  /**
   * Calls taken and not yet answered, by id: when each started and what it took. A response's
   * `remaining` does not count the calls still on their way, so they come off it.
   */
  inFlight?: Record<string, { at: number; need: Need }>;
}

/** A call in flight longer than this (a worker that died mid-call) no longer counts. */
const IN_FLIGHT_MS = 10 * 60_000;

export type Need = Record<LimitKind, number>;

/** A limit as one response's headers state it (its `-reset`, when the bucket is full again, follows from these). */
export interface Observed {
  limit: number;
  remaining: number;
}

export function emptyLimits(): ModelLimits {
  return { buckets: {}, blockedUntil: 0 };
}

/** The bucket's level at `now`. */
export function level(bucket: Bucket, now: number): number {
  return Math.min(bucket.capacity, bucket.tokens + bucket.ratePerMs * Math.max(0, now - bucket.at));
}

/**
 * When a call needing `need` may start: now when every bucket covers it and no 429 holds the
 * model, else the first moment all do. A call larger than a bucket's capacity waits until that
 * bucket is full (it can never fit better).
 */
export function readyAt(limits: ModelLimits, need: Need, now: number): number {
  let at = Math.max(now, limits.blockedUntil);
  for (const kind of LIMIT_KINDS) {
    const bucket = limits.buckets[kind];
    if (!bucket || need[kind] <= 0) continue;
    const target = Math.min(need[kind], bucket.capacity);
    const have = level(bucket, now);
    if (have >= target) continue;
    at = Math.max(at, bucket.ratePerMs > 0 ? now + (target - have) / bucket.ratePerMs : Number.POSITIVE_INFINITY);
  }
  return at;
}

/** Takes `need` from every bucket at `now` (a call starts); `id` marks it in flight until `finish`. */
export function take(limits: ModelLimits, need: Need, now: number, id?: string): void {
  if (id) (limits.inFlight ??= {})[id] = { at: now, need };
  for (const kind of LIMIT_KINDS) {
    const bucket = limits.buckets[kind];
    if (!bucket || need[kind] === 0) continue;
    bucket.tokens = level(bucket, now) - need[kind];
    bucket.at = now;
  }
}

/** The call `id` was answered (or failed): it is no longer in flight. */
export function finish(limits: ModelLimits, id: string): void {
  if (limits.inFlight) delete limits.inFlight[id];
}

/** What the calls still in flight took of a bucket (those older than IN_FLIGHT_MS are dropped). */
function pending(limits: ModelLimits, kind: LimitKind, now: number): number {
  let sum = 0;
  for (const [id, call] of Object.entries(limits.inFlight ?? {})) {
    if (now - call.at > IN_FLIGHT_MS) delete limits.inFlight![id];
    else sum += call.need[kind];
  }
  return sum;
}

/** Gives back what a call took but did not use (its output was shorter than max_tokens, its input smaller than estimated). */
export function giveBack(limits: ModelLimits, unused: Partial<Need>, now: number): void {
  for (const kind of LIMIT_KINDS) {
    const bucket = limits.buckets[kind];
    const amount = unused[kind] ?? 0;
    if (!bucket || amount <= 0) continue;
    bucket.tokens = Math.min(bucket.capacity, level(bucket, now) + amount);
    bucket.at = now;
  }
}

/**
 * A response's headers, applied to a bucket. The server's `remaining` counts every caller of the
 * organisation but our calls still in flight, which come off it; the level kept is the lower of
 * that and ours. The refill
 * rate is the limit per minute.
 */
export function observe(limits: ModelLimits, kind: LimitKind, seen: Observed, now: number): void {
  // the limits are per minute and refill continuously: the limit a minute is the rate (what the
  // reset implies, what is missing over the time to full, is rounded by the integer `remaining`)
  const ratePerMs = seen.limit / 60_000;
  const bucket = limits.buckets[kind];
  limits.buckets[kind] = {
    capacity: seen.limit,
    ratePerMs,
    tokens: Math.min(bucket ? level(bucket, now) : Number.POSITIVE_INFINITY, seen.remaining - pending(limits, kind, now)),
    at: now,
  };
}
