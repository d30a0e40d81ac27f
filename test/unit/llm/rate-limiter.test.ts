import { DeadlineExceededError } from "../../../src/llm/errors.js";
import { RateLimiter } from "../../../src/llm/rate-limiter.js";
import { fakeClock } from "../../helpers/llm.js";

const iso = (ms: number) => new Date(ms).toISOString();

/** The headers Anthropic sends for the requests and input-token limits. */
function headers(clock: { now(): number }, limits: { requests?: [number, number, number]; input?: [number, number, number] }) {
  const out: Record<string, string> = {};
  for (const [name, value] of [
    ["requests", limits.requests],
    ["input-tokens", limits.input],
  ] as const) {
    if (!value) continue;
    const [limit, remaining, fullInMs] = value;
    out[`anthropic-ratelimit-${name}-limit`] = String(limit);
    out[`anthropic-ratelimit-${name}-remaining`] = String(remaining);
    out[`anthropic-ratelimit-${name}-reset`] = iso(clock.now() + fullInMs);
  }
  return out;
}

describe("rate limiter", () => {
  it("lets calls through while the headers say there is room", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    await limiter.observe("m", headers(clock, { requests: [50, 49, 1_200], input: [30_000, 30_000, 0] }));
    const r = await limiter.acquire("m", 1_000, 1_000);
    await r.release();
    expect(clock.sleeps).toEqual([]);
  });

  it("after a 429 with retry-after 1, the next call goes after about a second, not at the window's reset", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    // the 429: no request left, the bucket full again in 60 s (50 a minute: one more every 1.2 s), retry-after 1
    await limiter.observe("m", headers(clock, { requests: [50, 0, 60_000] }));
    await limiter.block("m", 1_000);
    const started = clock.now();
    await (await limiter.acquire("m", 10, 10)).release();
    const waited = clock.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThanOrEqual(3_000);
    expect(waited).toBe(1_200); // one request's refill on a 50-a-minute limit
  });

  it("paces parallel agents by the refill instead of letting them run into a 429 or wait for a full window", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    // 60 requests a minute, 2 left, full in 58 s: one more request every second
    await limiter.observe("m", headers(clock, { requests: [60, 2, 58_000] }));
    const started = clock.now();
    const reservations = [];
    for (let i = 0; i < 5; i++) reservations.push(await limiter.acquire("m", 100, 100));
    // two at once, then one a second
    expect(clock.now() - started).toBe(3_000);
    for (const r of reservations) await r.release();
    // other models are not held back
    const before = clock.sleeps.length;
    await (await limiter.acquire("other", 1e6, 1)).release();
    expect(clock.sleeps).toHaveLength(before);
  });

  it("waits for input tokens to refill, and gets back what a call did not use", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    // 40,000 input tokens a minute, 5,000 left
    await limiter.observe("m", headers(clock, { input: [40_000, 5_000, 52_500] }));
    const first = await limiter.acquire("m", 4_000, 100); // fits
    await first.release({ inputTokens: 1_000, outputTokens: 50 }); // used a quarter: 3,000 go back
    expect(clock.sleeps).toEqual([]);
    const second = await limiter.acquire("m", 4_000, 100); // 4,000 left: fits without waiting
    expect(clock.sleeps).toEqual([]);
    const third = limiter.acquire("m", 4_000, 100); // 0 left: 4,000 at 40,000 a minute is 6 s
    await (await third).release();
    expect(clock.sleeps).toEqual([6_000]);
    await second.release();
  });

  it("holds a model back after a 429 until its retry-after, and refuses to wait past a deadline", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    await limiter.block("m", 30_000);
    await expect(limiter.acquire("m", 1, 1, { deadline: clock.now() + 10_000 })).rejects.toBeInstanceOf(DeadlineExceededError);
    await (await limiter.acquire("m", 1, 1)).release();
    expect(clock.sleeps).toEqual([30_000]);
  });
});
