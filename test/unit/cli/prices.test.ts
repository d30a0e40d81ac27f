import { pricesText } from "../../../src/cli/prices.js";
import { CliError } from "../../../src/cli/errors.js";
import { PRICE_OVERRIDES } from "../../../src/llm/prices.js";
import { PriceBook } from "../../../src/llm/pricing.js";

const book = new PriceBook(PRICE_OVERRIDES, [
  {
    model: "claude-opus-5-5",
    effective: "2026-11-01",
    input: 3,
    output: 15,
    cacheWrite5m: 3.75,
    cacheWrite1h: 6,
    cacheRead: 0.3,
    source: "TOLLGATE_PRICES_FILE (ops.json)",
  },
]);
const NOW = new Date("2026-11-30T12:00:00Z");

describe("tollgate prices", () => {
  it("shows a model's price in force, its band and its source", () => {
    const text = pricesText(book, "claude-haiku-5-5", NOW);
    expect(text).toContain("claude-haiku-5-5, in force since 2026-10-07");
    expect(text).toMatch(/prompts over 100,000 tokens \(the whole request\) │ \$0\.5 +│ \$0\.625/);
    expect(text).toContain("source: Tollgate's override (not in @pydantic/genai-prices 0.1.8)");
    expect(pricesText(book, "claude-opus-4-7", NOW)).toContain("source: @pydantic/genai-prices 0.1.8 (its model claude-opus-4-7)");
  });

  it("lets the operator's file win, from its date, and prices the day asked for", () => {
    expect(pricesText(book, "claude-opus-5-5", NOW)).toContain("source: TOLLGATE_PRICES_FILE (ops.json)");
    expect(pricesText(book, "claude-opus-5-5", new Date("2026-10-01T00:00:00Z"))).toContain("source: @pydantic/genai-prices");
  });

  it("lists every current Claude model, and no retired generation", () => {
    const text = pricesText(book, undefined, NOW);
    for (const model of ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-fable-5-1", "claude-opus-4-7"])
      expect(text).toContain(model);
    expect(text).not.toContain("claude-2 ");
    expect(text).not.toContain("claude-3-haiku");
  });

  it("says how to price a model it cannot", () => {
    expect(() => pricesText(book, "claude-imaginary-9", NOW)).toThrow(CliError);
    expect(() => pricesText(book, "claude-imaginary-9", NOW)).toThrow(
      "no price for claude-imaginary-9 on 2026-11-30: add it to TOLLGATE_PRICES_FILE",
    );
  });
});
