import type { ModelPrice } from "./pricing.js";

/**
 * List prices in US dollars per million tokens, from Anthropic's pricing page, with the date
 * each took effect. Dated model ids (claude-haiku-4-5-20251001) match their alias. Operators add
 * or override entries with TOLLGATE_PRICES_FILE; a model with no entry is metered in tokens and
 * its cost is unknown.
 */
export const DEFAULT_PRICES: ModelPrice[] = [
  { model: "claude-opus-5", effective: "2026-07-24", input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 },
  { model: "claude-opus-4-8", effective: "2026-05-28", input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 },
  { model: "claude-opus-4-7", effective: "2026-04-16", input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 },
  { model: "claude-opus-4-6", effective: "2026-02-05", input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 },
  { model: "claude-opus-4-5", effective: "2025-11-24", input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 },
  { model: "claude-opus-4-1", effective: "2025-08-05", input: 15, output: 75, cacheWrite5m: 18.75, cacheWrite1h: 30, cacheRead: 1.5 },
  { model: "claude-opus-4", effective: "2025-05-22", input: 15, output: 75, cacheWrite5m: 18.75, cacheWrite1h: 30, cacheRead: 1.5 },
  { model: "claude-sonnet-4-6", effective: "2026-02-17", input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 },
  { model: "claude-sonnet-4-5", effective: "2025-09-29", input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 },
  { model: "claude-sonnet-4", effective: "2025-05-22", input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 },
  { model: "claude-haiku-4-5", effective: "2025-10-15", input: 1, output: 5, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 },
];
