// One worker process of the limiter's test and benchmark: `calls` metered model calls, `parallel`
// at a time, through the real Anthropic adapter (to a fake API) and the limiter the app builds
// for this database (shared buckets on PostgreSQL). Prints one JSON line: { done, failed, ms }.
//   node bench/limiter-worker.mjs <DATABASE_URL> <API_URL> <calls> <parallel>
import { pino } from "pino";
import { meteredModel, modelServices } from "../dist/app/model.js";
import { parseRepoConfig } from "../dist/config/repo-config.js";
import { openPostgres } from "../dist/db/pg.js";
import { RateLimiter } from "../dist/llm/rate-limiter.js";

const [url, api, calls, parallel] = process.argv.slice(2);
const db = openPostgres(url, { max: Number(parallel) + 2 });
const services = modelServices({ anthropic: { apiKey: "sk-ant-api03-fake-limiter-key", baseUrl: api }, prices: [] }, db);
// the benchmark's "before": each process with its own limiter, as before the shared one
if (process.env.TOLLGATE_BENCH_LIMITER === "process") services.limiter = new RateLimiter();
const model = meteredModel(services, parseRepoConfig({}), pino({ level: "silent" }));
const started = Date.now();
let next = 0;
let done = 0;
let failed = 0;
const lane = async () => {
  while (next < Number(calls)) {
    next++;
    try {
      await model.call({
        context: { phase: "verify", agent: "limiter" },
        request: { messages: [{ role: "user", content: "hi" }], maxTokens: 16 },
      });
      done++;
    } catch (error) {
      failed++;
      console.error(error.message);
    }
  }
};
await Promise.all(Array.from({ length: Number(parallel) }, lane));
console.log(JSON.stringify({ done, failed, ms: Date.now() - started }));
await db.close();
