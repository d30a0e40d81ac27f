import type { Usage } from "./model.js";

/** No single call reads or writes this many tokens; a larger count is a provider bug. */
export const MAX_TOKENS_PER_FIELD = 10_000_000;

/**
 * Reads an Anthropic-shaped `usage` object. Missing or null fields stay `null` (unknown); a
 * negative, fractional or absurd count is rejected (set to `null`) and reported in `problems`,
 * so the caller can log it; the raw object is kept as received either way.
 */
export function normalizeUsage(raw: unknown): { usage: Usage; problems: string[] } {
  const problems: string[] = [];
  const obj = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : undefined;
  if (raw !== undefined && raw !== null && !obj) problems.push(`usage is not an object: ${JSON.stringify(raw)}`);
  const read = (source: Record<string, unknown> | undefined, field: string, label = field): number | null => {
    const value = source?.[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_TOKENS_PER_FIELD) {
      problems.push(`${label} = ${JSON.stringify(value)} is not a plausible token count`);
      return null;
    }
    return value;
  };
  const breakdown =
    obj?.cache_creation !== null && typeof obj?.cache_creation === "object" ? (obj.cache_creation as Record<string, unknown>) : undefined;
  const usage: Usage = {
    inputTokens: read(obj, "input_tokens"),
    outputTokens: read(obj, "output_tokens"),
    cacheWriteTokens: read(obj, "cache_creation_input_tokens"),
    cacheWrite5mTokens: read(breakdown, "ephemeral_5m_input_tokens", "cache_creation.ephemeral_5m_input_tokens"),
    cacheWrite1hTokens: read(breakdown, "ephemeral_1h_input_tokens", "cache_creation.ephemeral_1h_input_tokens"),
    cacheReadTokens: read(obj, "cache_read_input_tokens"),
    raw: raw ?? null,
  };
  if (usage.cacheWriteTokens === null && usage.cacheWrite5mTokens !== null && usage.cacheWrite1hTokens !== null) {
    usage.cacheWriteTokens = usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
  }
  return { usage, problems };
}

/**
 * Fills what the request itself tells: a request with no cache breakpoint can neither read nor
 * write the cache, so an unreported cache count is 0; a request whose breakpoints are all
 * 5-minute ones wrote only 5-minute entries. Anything else unknown stays unknown.
 */
export function completeUsage(usage: Usage, cache: { breakpoints: number; oneHour: boolean }): Usage {
  const u = { ...usage };
  if (cache.breakpoints === 0) {
    u.cacheReadTokens ??= 0;
    u.cacheWriteTokens ??= 0;
  }
  if (u.cacheWriteTokens !== null && u.cacheWrite5mTokens === null && u.cacheWrite1hTokens === null && !cache.oneHour) {
    u.cacheWrite5mTokens = u.cacheWriteTokens;
    u.cacheWrite1hTokens = 0;
  }
  return u;
}
