// bench/embedded-rss: how much memory an idle `tollgate start` holds.
//
// Starts the built app (webhook server and in-process workers) on a fresh temporary
// TOLLGATE_DATA_DIR, waits until /health answers, samples the process's VmRSS from
// /proc/<pid>/status for --seconds while nothing happens, then stops it with SIGTERM.
// Prints one JSON line: idle RSS (median and last sample over the idle window), the peak
// (VmHWM: the highest RSS the process ever had, start-up included) and the time to /health.
// No network is used: the app credentials are generated, the model API points at a closed port.
//
//   npm run build && node bench/embedded-rss.mjs [--seconds 20]
//   node bench/embedded-rss.mjs --database-url postgres://user@127.0.0.1:5432/db   # on PostgreSQL
//   node bench/embedded-rss.mjs --data-dir /tmp/keep   # this data dir, kept: run twice for a restart
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: opts } = parseArgs({
  options: { seconds: { type: "string", default: "20" }, "database-url": { type: "string" }, "data-dir": { type: "string" } },
});
const seconds = Math.max(1, Math.min(Number(opts.seconds), 600));
const databaseUrl = opts["database-url"];

const freePort = () =>
  new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** VmRSS, VmHWM, RssAnon, RssFile in MB, or undefined once the process is gone. */
function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    const mb = (key) => Math.round(kb(key) / 1024);
    return { rss: mb("VmRSS"), hwm: mb("VmHWM"), anon: mb("RssAnon"), file: mb("RssFile") };
  } catch {
    return undefined;
  }
}

const keepDataDir = opts["data-dir"] !== undefined;
const dataDir = keepDataDir ? path.resolve(opts["data-dir"]) : mkdtempSync(path.join(tmpdir(), "tollgate-rss-"));
mkdirSync(dataDir, { recursive: true });
const port = await freePort();
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" });
const child = spawn(process.execPath, [path.join(root, "dist/cli/main.js"), "start"], {
  cwd: dataDir,
  env: {
    PATH: process.env.PATH,
    APP_ID: "1",
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: "bench-secret",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    NO_SMEE_SETUP: "true",
    ANTHROPIC_API_KEY: "bench-unused",
    ANTHROPIC_BASE_URL: "http://127.0.0.1:9", // never called while idle
    TOLLGATE_DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  },
  stdio: ["ignore", "ignore", "inherit"],
});
let exited = false;
child.on("exit", () => (exited = true));

try {
  const t0 = performance.now();
  let ready = false;
  while (!ready && !exited && performance.now() - t0 < 120_000) {
    ready = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) await sleep(100);
  }
  if (!ready) throw new Error(exited ? `the app exited with code ${child.exitCode}` : "no /health within 120 s");
  const readyMs = Math.round(performance.now() - t0);
  const atReady = memory(child.pid);

  const samples = [];
  for (let end = performance.now() + seconds * 1000; performance.now() < end && !exited; await sleep(500)) {
    const m = memory(child.pid);
    if (m) samples.push(m);
  }
  if (exited || samples.length === 0) throw new Error(`the app exited while idle (code ${child.exitCode})`);
  const rss = samples.map((s) => s.rss).sort((a, b) => a - b);
  const last = samples[samples.length - 1];
  console.log(
    JSON.stringify({
      database: databaseUrl ? "postgres" : "pglite",
      dataDir: keepDataDir ? dataDir : "fresh",
      readyMs,
      rssAtReadyMB: atReady?.rss,
      idleRssMedianMB: rss[Math.floor(rss.length / 2)],
      idleRssMaxMB: rss[rss.length - 1],
      idleRssLastMB: last.rss,
      lastAnonMB: last.anon,
      lastFileMB: last.file,
      peakHwmMB: last.hwm,
      idleSeconds: seconds,
      samples: samples.length,
    }),
  );
} finally {
  if (!exited) {
    child.kill("SIGTERM");
    const deadline = Date.now() + 15_000;
    while (!exited && Date.now() < deadline) await sleep(100);
    if (!exited) child.kill("SIGKILL");
  }
  if (!keepDataDir) rmSync(dataDir, { recursive: true, force: true });
}
