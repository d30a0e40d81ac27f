import { PRICE_OVERRIDES } from "../../../src/llm/prices.js";
import { priceListSchema } from "../../../src/config/price-list.js";
import { costMicros, PriceBook } from "../../../src/llm/pricing.js";
import { ZERO_USAGE, type Usage } from "../../../src/llm/model.js";

const usage = (u: Partial<Usage>): Usage => ({ ...ZERO_USAGE, ...u });

describe("pricing", () => {
  const book = new PriceBook(PRICE_OVERRIDES);

  it("prices each component as tokens × dollars per million = micro-dollars, computed by hand", () => {
    // Sonnet 4.6: $3 in, $15 out, $3.75 5m write, $6 1h write, $0.30 read
    expect(book.cost("claude-sonnet-4-6", usage({ inputTokens: 1_000 }))).toBe(3_000);
    expect(book.cost("claude-sonnet-4-6", usage({ outputTokens: 1_000 }))).toBe(15_000);
    expect(book.cost("claude-sonnet-4-6", usage({ cacheWriteTokens: 1_000, cacheWrite5mTokens: 1_000 }))).toBe(3_750);
    expect(book.cost("claude-sonnet-4-6", usage({ cacheWriteTokens: 1_000, cacheWrite1hTokens: 1_000 }))).toBe(6_000);
    expect(book.cost("claude-sonnet-4-6", usage({ cacheReadTokens: 1_000 }))).toBe(300);
    // Opus 4.7: 2,345 in × $5 + 678 out × $25 + 10,000 read × $0.50 + 4,096 5m × $6.25
    //   = 11,725 + 16,950 + 5,000 + 25,600 = 59,275 micro-dollars
    expect(
      book.cost(
        "claude-opus-4-7",
        usage({ inputTokens: 2_345, outputTokens: 678, cacheReadTokens: 10_000, cacheWriteTokens: 4_096, cacheWrite5mTokens: 4_096 }),
      ),
    ).toBe(59_275);
    // Haiku 4.5: 7 reads × $0.10 = 0.7 µ$, + 1 in × $1 = 1.7 → rounded once to 2
    expect(book.cost("claude-haiku-4-5", usage({ inputTokens: 1, cacheReadTokens: 7 }))).toBe(2);
  });

  it("matches dated model ids to their alias, and picks the price in effect at the call's date", () => {
    expect(book.find("claude-haiku-4-5-20251001")?.model).toBe("claude-haiku-4-5");
    const changing = new PriceBook([
      { model: "m", effective: "2026-01-01", input: 1, output: 2, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 },
      { model: "m", effective: "2026-06-01", input: 2, output: 4, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 },
    ]);
    expect(changing.cost("m", usage({ inputTokens: 100 }), new Date("2026-03-01"))).toBe(100);
    expect(changing.cost("m", usage({ inputTokens: 100 }), new Date("2026-07-01"))).toBe(200);
    expect(changing.find("m", new Date("2025-12-31"))).toBeUndefined();
  });

  it("prices exact ids and their dated snapshots only, never an id that merely starts like a priced one", () => {
    // ids a repository could invent, each a new metric label: the package would price them by prefix
    for (const invented of [
      "claude-haiku-4-5-neqhlmytpg",
      "claude-3-5-sonnet-zzz-random-1234",
      "claude-sonnet-4-6x",
      "claude-opus-4-7-20261399", // no such day
      "claude-opus-4-7-19991231", // before any Claude snapshot
      "claude-sonnet-5-5-preview",
    ]) {
      expect([invented, book.find(invented)]).toEqual([invented, undefined]);
      expect(book.worstCase(invented, 1, 1, "none")).toBeNull();
    }
    // the package's own ids, its exact aliases and the API's dated snapshots are known
    for (const [id, priced] of <Array<[string, string]>>[
      ["claude-haiku-4-5", "claude-haiku-4-5"],
      ["claude-haiku-4-5-20251001", "claude-haiku-4-5"],
      ["claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"],
      ["claude-3-5-haiku-latest", "claude-3-5-haiku-latest"],
      ["claude-opus-4-20250514", "claude-opus-4-0"],
      ["claude-sonnet-4-20250514", "claude-sonnet-4-0"],
      ["claude-sonnet-5-5-20261007", "claude-sonnet-5-5"],
    ])
      expect([id, book.find(id)?.model]).toEqual([id, priced]);
  });

  it("lets an override replace a price and add a model", () => {
    const custom = new PriceBook(PRICE_OVERRIDES, [
      { model: "claude-sonnet-4-6", effective: "2026-02-17", input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 },
      { model: "my-gateway-model", effective: "2026-01-01", input: 0.5, output: 1, cacheWrite5m: 0.5, cacheWrite1h: 0.5, cacheRead: 0.05 },
    ]);
    expect(custom.cost("claude-sonnet-4-6", usage({ inputTokens: 1_000 }))).toBe(2_000);
    expect(custom.cost("my-gateway-model", usage({ outputTokens: 1_000 }))).toBe(1_000);
  });

  it("says unknown, never 0, for a model with no price or a count that was not reported", () => {
    expect(book.cost("claude-unreleased-9", usage({ inputTokens: 1_000 }))).toBeNull();
    expect(book.cost("claude-sonnet-4-6", usage({ outputTokens: null }))).toBeNull();
    expect(book.cost("claude-sonnet-4-6", usage({ cacheWrite5mTokens: null, cacheWrite1hTokens: null, cacheWriteTokens: 50 }))).toBeNull();
    expect(costMicros(PRICE_OVERRIDES[0]!, usage({ cacheReadTokens: null }))).toBeNull();
  });

  it("prices a call's worst case at its dearest input rate and all of max_tokens", () => {
    expect(book.worstCase("claude-sonnet-4-6", 10_000, 4_096, "none")).toBe(10_000 * 3 + 4_096 * 15);
    expect(book.worstCase("claude-sonnet-4-6", 10_000, 4_096, "5m")).toBe(10_000 * 3.75 + 4_096 * 15);
    expect(book.worstCase("claude-sonnet-4-6", 10_000, 4_096, "1h")).toBe(10_000 * 6 + 4_096 * 15);
    expect(book.worstCase("unknown-model", 1, 1, "none")).toBeNull();
  });

  it("ships valid prices with current, not deprecated, defaults", () => {
    expect(priceListSchema.safeParse(PRICE_OVERRIDES).success).toBe(true);
    for (const model of ["claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"]) expect(book.find(model)).toBeDefined();
  });
});
