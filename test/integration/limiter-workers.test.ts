/**
 * One rate limiter for every worker: four worker processes on one PostgreSQL, each making metered
 * model calls three at a time through the real Anthropic adapter, against a fake API that allows
 * 60 requests a minute (bench/fake-anthropic.mjs: a token bucket, as Anthropic's limits are). The
 * workers take from the same buckets (src/stores/rate-limits.ts), so none of them runs into a 429
 * that another one's calls caused, and together they use the limit: once the bucket the API starts
 * with is spent, the calls go at the refill rate, within 90% of it.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { migrate } from "../../src/db/migrate.js";
import { openPostgres } from "../../src/db/pg.js";
import { createPostgresDatabase, itOnPostgres } from "../helpers/db.js";
// @ts-expect-error a plain ES module of the benchmarks, shared with this test
import { startFakeAnthropic } from "../../bench/fake-anthropic.mjs";

const WORKER = fileURLToPath(new URL("../../bench/limiter-worker.mjs", import.meta.url));
const LIMIT = 60; // requests a minute
const WORKERS = 4;
const CALLS_EACH = 20; // 80 in all: the 60 the bucket starts with, then 20 at the refill rate

interface FakeApi {
  url: string;
  seen: { accepted: number[]; rejected: number };
  close(): Promise<void>;
}

/**
 * What the API's bucket held after each accepted call, as the fake keeps it: full (LIMIT) until the
 * first call, refilled at LIMIT a minute, one taken by each call.
 */
function bucketAfter(accepted: number[]): number[] {
  let tokens = LIMIT;
  return accepted.map((at, i) => {
    if (i > 0) tokens = Math.min(LIMIT, tokens + (LIMIT / 60_000) * (at - accepted[i - 1]!));
    return (tokens -= 1);
  });
}

function worker(databaseUrl: string, api: string): Promise<{ done: number; failed: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, databaseUrl, api, String(CALLS_EACH), "3"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (err += c));
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`worker exited ${code}: ${err}`)),
    );
  });
}

itOnPostgres(
  "four worker processes share one limiter: no 429 from racing one another, and the refill rate used within 90%",
  async () => {
    const url = await createPostgresDatabase();
    const db = openPostgres(url);
    await migrate(db);
    await db.close();
    const api = (await startFakeAnthropic({ requestsPerMinute: LIMIT })) as FakeApi;
    try {
      const results = await Promise.all(Array.from({ length: WORKERS }, () => worker(url, api.url)));
      expect(results.reduce((s, r) => s + r.done, 0)).toBe(WORKERS * CALLS_EACH);
      expect(results.every((r) => r.failed === 0)).toBe(true);
      expect(api.seen.rejected).toBe(0);
      // after the starting bucket (LIMIT calls), the calls come at the refill rate: one a second. What
      // refilled while the starting bucket was being spent is spent at once too (rightly), so the paced
      // calls begin once the bucket is down to the level it then stays at (within a call): after call
      // LIMIT when the burst was quick, later when it was slow (a busy machine).
      const left = bucketAfter(api.seen.accepted);
      const settled = left.findIndex((level, i) => level <= Math.min(...left.slice(i)) + 1);
      const paced = api.seen.accepted.slice(Math.max(LIMIT, settled));
      const perSecond = (paced.length - 1) / ((paced.at(-1)! - paced[0]!) / 1000);
      expect(perSecond).toBeGreaterThanOrEqual(0.9 * (LIMIT / 60));
      expect(perSecond).toBeLessThanOrEqual(1.1 * (LIMIT / 60));
    } finally {
      await api.close();
    }
  },
  90_000,
);
