// bench/limiter: 1, 2 and 4 worker processes making metered model calls (3 at a time each) against
// a local fake API with a fixed limit (bench/fake-anthropic.mjs: 60 requests a minute, a token
// bucket as Anthropic's), once with each process's own limiter (as before issue 15) and once with
// the limiter shared through PostgreSQL. Reports 429s per 1,000 calls, and the throughput after
// the starting bucket is spent as a share of the limit.
//
//   npm run build && DATABASE_URL=postgres://… node bench/limiter.mjs [calls per worker]
//
// DATABASE_URL: any PostgreSQL this user may create tables in (a throwaway one:
//   initdb -D /tmp/pg -U postgres --auth=trust && pg_ctl -D /tmp/pg -o "-p 54329 -k /tmp" start
//   DATABASE_URL=postgres://postgres@127.0.0.1:54329/postgres).
import { spawn } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { migrate } from "../dist/db/migrate.js";
import { openPostgres } from "../dist/db/pg.js";
import { startFakeAnthropic } from "./fake-anthropic.mjs";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("set DATABASE_URL (see the header of bench/limiter.mjs)");
const callsEach = Number(process.argv[2] ?? 30);
const LIMIT = 60;
const worker = path.join(path.dirname(new URL(import.meta.url).pathname), "limiter-worker.mjs");

async function freshDatabase() {
  const name = `bench_limiter_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  const db = openPostgres(dbUrl.toString());
  await migrate(db);
  await db.close();
  return dbUrl.toString();
}

function run(dbUrl, api, mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, dbUrl, api, String(callsEach), "3"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TOLLGATE_BENCH_LIMITER: mode },
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`worker exited ${code}`)),
    );
  });
}

console.log(`# bench/limiter: ${callsEach} calls per worker, 3 at a time, against ${LIMIT} requests a minute\n`);
console.log("| workers | limiter | calls | 429s | 429s per 1,000 calls | failed | throughput after the starting bucket |");
console.log("|---:|---|---:|---:|---:|---:|---:|");
for (const workers of [1, 2, 4]) {
  for (const mode of ["process", "shared"]) {
    const dbUrl = await freshDatabase();
    const api = await startFakeAnthropic({ requestsPerMinute: LIMIT });
    const results = await Promise.all(Array.from({ length: workers }, () => run(dbUrl, api.url, mode)));
    await api.close();
    const calls = workers * callsEach;
    const paced = api.seen.accepted.slice(LIMIT);
    const share = paced.length > 1 ? (paced.length - 1) / ((paced.at(-1) - paced[0]) / 1000) / (LIMIT / 60) : NaN;
    const failed = results.reduce((s, r) => s + r.failed, 0);
    console.log(
      `| ${workers} | ${mode === "shared" ? "shared (PostgreSQL)" : "one per process"} | ${calls} | ${api.seen.rejected} | ${Math.round((api.seen.rejected / (calls + api.seen.rejected)) * 1000)} | ${failed} | ${Number.isNaN(share) ? "n/a" : `${Math.round(share * 100)}%`} |`,
    );
  }
}
