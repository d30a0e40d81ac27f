import { completeUsage, normalizeUsage } from "../../../src/llm/usage.js";

describe("usage", () => {
  it("reads every field of the API's usage object", () => {
    const raw = {
      input_tokens: 12,
      output_tokens: 345,
      cache_creation_input_tokens: 4_100,
      cache_read_input_tokens: 8_000,
      cache_creation: { ephemeral_5m_input_tokens: 4_000, ephemeral_1h_input_tokens: 100 },
      service_tier: "standard",
    };
    expect(normalizeUsage(raw)).toEqual({
      usage: {
        inputTokens: 12,
        outputTokens: 345,
        cacheWriteTokens: 4_100,
        cacheWrite5mTokens: 4_000,
        cacheWrite1hTokens: 100,
        cacheReadTokens: 8_000,
        raw,
      },
      problems: [],
    });
  });

  it("keeps missing and null fields unknown (older or compatible endpoints)", () => {
    const { usage, problems } = normalizeUsage({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: null });
    expect(usage).toMatchObject({
      inputTokens: 10,
      outputTokens: 5,
      cacheWriteTokens: null,
      cacheReadTokens: null,
      cacheWrite5mTokens: null,
    });
    expect(problems).toEqual([]);
    expect(normalizeUsage(undefined).usage).toMatchObject({ inputTokens: null, outputTokens: null, raw: null });
  });

  it("rejects negative, fractional and absurd counts, keeping the raw object", () => {
    const raw = { input_tokens: -3, output_tokens: 1e12, cache_read_input_tokens: 2.5 };
    const { usage, problems } = normalizeUsage(raw);
    expect(usage).toMatchObject({ inputTokens: null, outputTokens: null, cacheReadTokens: null, raw });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe("input_tokens = -3 is not a plausible token count");
    expect(normalizeUsage("lots").problems).toEqual(['usage is not an object: "lots"']);
  });

  it("derives only what the request itself tells", () => {
    const unknownCache = normalizeUsage({ input_tokens: 10, output_tokens: 5 }).usage;
    expect(completeUsage(unknownCache, { breakpoints: 0, oneHour: false })).toMatchObject({
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    });
    expect(completeUsage(unknownCache, { breakpoints: 2, oneHour: false })).toMatchObject({
      cacheReadTokens: null,
      cacheWriteTokens: null,
    });
    const unsplit = normalizeUsage({
      input_tokens: 1,
      output_tokens: 1,
      cache_creation_input_tokens: 500,
      cache_read_input_tokens: 0,
    }).usage;
    expect(completeUsage(unsplit, { breakpoints: 1, oneHour: false })).toMatchObject({ cacheWrite5mTokens: 500, cacheWrite1hTokens: 0 });
    expect(completeUsage(unsplit, { breakpoints: 1, oneHour: true })).toMatchObject({ cacheWrite5mTokens: null, cacheWrite1hTokens: null });
  });
});
