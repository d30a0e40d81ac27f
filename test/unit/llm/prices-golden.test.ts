/**
 * Golden prices: every current Claude model's rates on 2026-11-30, and banded requests, checked by
 * hand against Anthropic's pricing and model pages as the search tool stores them (and, where a
 * page was missing, the sources named in src/llm/prices.ts). A change in @pydantic/genai-prices
 * or in Tollgate's overrides that moves a bill shows here.
 */
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { ZERO_USAGE, type Usage } from "../../../src/llm/model.js";
import { PRICE_OVERRIDES } from "../../../src/llm/prices.js";
import type { Rates } from "../../../src/config/price-list.js";
import { PriceBook } from "../../../src/llm/pricing.js";

const book = new PriceBook(PRICE_OVERRIDES);
const NOW = new Date("2026-11-30T12:00:00Z");
const usage = (u: Partial<Usage>): Usage => ({ ...ZERO_USAGE, ...u });

// [input, 5m cache write, 1h cache write, cache hit, output] in dollars per million tokens
const CURRENT: Record<string, [number, number, number, number, number]> = {
  "claude-fable-5-1": [10, 12.5, 20, 0.25, 50],
  "claude-fable-5": [10, 12.5, 20, 1, 50],
  "claude-opus-5-5": [4, 5, 8, 0.2, 20],
  "claude-opus-5": [5, 6.25, 10, 0.5, 25],
  "claude-opus-4-8": [5, 6.25, 10, 0.5, 25],
  "claude-opus-4-7": [5, 6.25, 10, 0.5, 25],
  "claude-opus-4-6": [5, 6.25, 10, 0.5, 25],
  "claude-opus-4-5": [5, 6.25, 10, 0.5, 25],
  "claude-sonnet-5-5": [2, 2.5, 4, 0.1, 10],
  "claude-sonnet-5": [2, 2.5, 4, 0.2, 10],
  "claude-sonnet-4-6": [3, 3.75, 6, 0.3, 15],
  "claude-sonnet-4-5": [3, 3.75, 6, 0.3, 15],
  "claude-haiku-5-5": [0.1, 0.125, 0.2, 0.01, 0.5],
  "claude-haiku-4-5": [1, 1.25, 2, 0.1, 5],
};

const rates = (r: Rates) => [r.input, r.cacheWrite5m, r.cacheWrite1h, r.cacheRead, r.output];

describe("golden prices", () => {
  it.each(Object.entries(CURRENT))("%s is priced as Anthropic lists it", (model, expected) => {
    const price = book.find(model, NOW);
    expect(price).toBeDefined();
    expect(rates(price!)).toEqual(expected);
    expect(price!.source).toBeTruthy();
    // a dated id is the same model
    expect(rates(book.find(`${model}-20261001`, NOW)!)).toEqual(expected);
  });

  it("prices a Haiku 5.5 request over 100,000 prompt tokens wholly in the dearer band, by hand", () => {
    // 20,000 in × $0.50 + 50,000 5m writes × $0.625 + 40,000 hits × $0.05 + 2,000 out × $2.50
    //   = 10,000 + 31,250 + 2,000 + 5,000 = 48,250 micro-dollars (prompt 110,000 > 100,000)
    const over = usage({
      inputTokens: 20_000,
      cacheWriteTokens: 50_000,
      cacheWrite5mTokens: 50_000,
      cacheReadTokens: 40_000,
      outputTokens: 2_000,
    });
    expect(book.cost("claude-haiku-5-5", over, NOW)).toBe(48_250);
    // 10,000 in × $0.10 + 50,000 × $0.125 + 40,000 × $0.01 + 2,000 × $0.50 = 1,000 + 6,250 + 400 + 1,000 (prompt exactly 100,000)
    const at = usage({
      inputTokens: 10_000,
      cacheWriteTokens: 50_000,
      cacheWrite5mTokens: 50_000,
      cacheReadTokens: 40_000,
      outputTokens: 2_000,
    });
    expect(book.cost("claude-haiku-5-5", at, NOW)).toBe(8_650);
  });

  it("prices Sonnet 4.5 past 200,000 input tokens at $6 / $22.50, and Sonnet 4.6 so only before 2026-03-13", () => {
    const long = usage({ inputTokens: 250_000, outputTokens: 1_000 });
    // 250,000 × $6 + 1,000 × $22.50 = 1,500,000 + 22,500
    expect(book.cost("claude-sonnet-4-5", long, NOW)).toBe(1_522_500);
    expect(book.cost("claude-sonnet-4-6", long, new Date("2026-02-01T00:00:00Z"))).toBe(1_522_500);
    // 250,000 × $3 + 1,000 × $15 = 750,000 + 15,000: the surcharge was dropped on 2026-03-13
    expect(book.cost("claude-sonnet-4-6", long, NOW)).toBe(765_000);
  });

  it("keeps Sonnet 5.5's price before its cache-hit cut for calls made before it", () => {
    const hits = usage({ cacheReadTokens: 1_000_000 });
    expect(book.cost("claude-sonnet-5-5", hits, new Date("2026-10-01T00:00:00Z"))).toBe(200_000);
    expect(book.cost("claude-sonnet-5-5", hits, NOW)).toBe(100_000);
  });

  it("budgets for a newer tokenizer's count (× 1.35), and with the dearer band once that passes the threshold", () => {
    // Haiku 5.5: 60,000 estimated input tokens × 1.35 = 81,000, under 100,000: 81,000 × $0.10 + 1,000 × $0.50
    expect(book.worstCase("claude-haiku-5-5", 60_000, 1_000, "none", NOW)).toBe(8_100 + 500);
    // 80,000 × 1.35 = 108,000, over: the dearer band, 108,000 × $0.50 + 1,000 × $2.50
    expect(book.worstCase("claude-haiku-5-5", 80_000, 1_000, "none", NOW)).toBe(54_000 + 2_500);
    // Opus 4.7 has the newer tokenizer, Sonnet 4.6 the older one: 10,000 × 1.35 × $5, and 10,000 × $3
    expect(book.worstCase("claude-opus-4-7", 10_000, 0, "none", NOW)).toBe(13_500 * 5);
    expect(book.worstCase("claude-sonnet-4-6", 10_000, 0, "none", NOW)).toBe(10_000 * 3);
  });

  it("prices every default tier's model (an unpriced default would refuse every run)", () => {
    const { tiers } = parseRepoConfig({});
    expect(Object.values(tiers)).toEqual(["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]);
    for (const model of Object.values(tiers)) expect(book.find(model, NOW)).toBeDefined();
  });

  it("leaves a model nobody prices unpriced", () => {
    expect(book.find("claude-imaginary-9", NOW)).toBeUndefined();
    expect(book.cost("claude-imaginary-9", usage({ inputTokens: 1 }), NOW)).toBeNull();
  });
});
