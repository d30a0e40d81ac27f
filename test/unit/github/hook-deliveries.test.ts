import { HookRateLimitError, rateLimited } from "../../../src/github/hook-deliveries.js";

const NOW = 1_700_000_000_000;
const now = () => NOW;
const answer = (status: number, headers: Record<string, string>) => Object.assign(new Error("refused"), { status, response: { headers } });

describe("rateLimited", () => {
  it("reads when to try again: retry-after, else the limit's reset, else a minute", () => {
    expect(rateLimited(answer(429, { "retry-after": "30" }), now)?.retryAt).toEqual(new Date(NOW + 30_000));
    const reset = String(NOW / 1000 + 600);
    expect(rateLimited(answer(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }), now)?.retryAt).toEqual(
      new Date(NOW + 600_000),
    );
    expect(rateLimited(answer(429, {}), now)?.retryAt).toEqual(new Date(NOW + 60_000));
    expect(rateLimited(answer(403, { "retry-after": "5" }), now)).toBeInstanceOf(HookRateLimitError);
  });

  it("a 403 that is not the rate limit, or any other error, is not", () => {
    expect(rateLimited(answer(403, { "x-ratelimit-remaining": "4999" }), now)).toBeUndefined();
    expect(rateLimited(answer(500, { "retry-after": "5" }), now)).toBeUndefined();
    expect(rateLimited(new Error("socket hang up"), now)).toBeUndefined();
  });
});
