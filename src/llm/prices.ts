import type { ModelPrice } from "../config/price-list.js";

/**
 * Where Tollgate's prices differ from, or go beyond, `@pydantic/genai-prices` (the base, see
 * src/llm/genai-prices.ts): checked against Anthropic's pages as stored by the search tool on
 * 2026-11-30, each with its source. These win over the package; TOLLGATE_PRICES_FILE wins over
 * these. Prices in US dollars per million tokens; dated model ids (`…-20261007`) match their alias.
 *
 * Checked and left to the package (same rates on Anthropic's pricing page and model pages):
 * Fable 5.1 and 5, Opus 5.5, 5, 4.8, 4.7, 4.6, 4.5, 4.1 and 4, Sonnet 5, 4.6, 4.5 and 4, Haiku 4.5,
 * 3.5 and 3. Opus 4.6 and Sonnet 4.6 lost their long-prompt surcharge on 2026-03-13, which the
 * package already dates.
 */
export const PRICE_OVERRIDES: ModelPrice[] = [
  {
    model: "claude-sonnet-5-5",
    effective: "2026-09-28",
    input: 2,
    output: 10,
    cacheWrite5m: 2.5,
    cacheWrite1h: 4,
    cacheRead: 0.2,
    source:
      "Tollgate's override (not in @pydantic/genai-prices 0.1.8); platform.claude.com/docs/models/sonnet-5-5/overview (stored copy read 2026-11-30), released 2026-09-28",
  },
  {
    model: "claude-sonnet-5-5",
    effective: "2026-10-07",
    input: 2,
    output: 10,
    cacheWrite5m: 2.5,
    cacheWrite1h: 4,
    cacheRead: 0.1,
    source:
      "Tollgate's override (not in @pydantic/genai-prices 0.1.8); cache hits cut from $0.20 to $0.10 on 2026-10-07, as two independent price trackers' release notes (kurofune/claudit v1.9.2, TheKrush/PromptFuel v1.0.23) read Anthropic's pricing page; not on a stored copy of that page (read 2026-11-30)",
  },
  {
    model: "claude-haiku-5-5",
    effective: "2026-10-07",
    input: 0.1,
    output: 0.5,
    cacheWrite5m: 0.125,
    cacheWrite1h: 0.2,
    cacheRead: 0.01,
    longPrompt: { above: 100_000, input: 0.5, output: 2.5, cacheWrite5m: 0.625, cacheWrite1h: 1, cacheRead: 0.05 },
    source:
      "Tollgate's override (not in @pydantic/genai-prices 0.1.8); released 2026-10-07 'from $0.10 / $0.50' (platform.claude.com/docs/about-claude/models/whats-new-opus-5, stored copy read 2026-11-30); the bands (prompts over 100,000 tokens, cache reads and writes counted, billed whole at $0.50 / $2.50) as the claudit and PromptFuel release notes and apidog's API guide state them",
  },
];
