import { DeadlineExceededError } from "../../../src/llm/errors.js";
import { RateLimiter } from "../../../src/llm/rate-limiter.js";
import { fakeClock } from "../../helpers/llm.js";

const iso = (ms: number) => new Date(ms).toISOString();

describe("rate limiter", () => {
  it("lets calls through while the headers say there is room", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    limiter.observe("m", {
      "anthropic-ratelimit-requests-remaining": "49",
      "anthropic-ratelimit-requests-reset": iso(clock.now() + 60_000),
      "anthropic-ratelimit-input-tokens-remaining": "30000",
      "anthropic-ratelimit-input-tokens-reset": iso(clock.now() + 60_000),
    });
    const r = await limiter.acquire("m", 1_000, 1_000);
    r.release();
    expect(clock.sleeps).toEqual([]);
  });

  it("makes parallel agents wait for the window to reset instead of running into a 429", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    const reset = clock.now() + 20_000;
    limiter.observe("m", {
      "anthropic-ratelimit-input-tokens-remaining": "5000",
      "anthropic-ratelimit-input-tokens-reset": iso(reset),
      "anthropic-ratelimit-requests-remaining": "1",
      "anthropic-ratelimit-requests-reset": iso(reset),
    });
    const first = await limiter.acquire("m", 4_000, 100); // fits
    const second = limiter.acquire("m", 4_000, 100); // would pass both the token and the request limit
    const r2 = await second;
    expect(clock.sleeps).toEqual([20_000]);
    first.release();
    r2.release();
    // other models are not held back
    await (await limiter.acquire("other", 1e6, 1)).release();
    expect(clock.sleeps).toHaveLength(1);
  });

  it("holds a model back after a 429 until its retry-after, and refuses to wait past a deadline", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    limiter.block("m", clock.now() + 30_000);
    await expect(limiter.acquire("m", 1, 1, { deadline: clock.now() + 10_000 })).rejects.toBeInstanceOf(DeadlineExceededError);
    (await limiter.acquire("m", 1, 1)).release();
    expect(clock.sleeps).toEqual([30_000]);
  });
});
