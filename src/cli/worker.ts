import type { Logger } from "pino";
import { openServices } from "../app/services.js";
import { modelServices } from "../app/model.js";
import { githubFactory, startWorkers } from "../app/workers.js";
import type { AppEnv } from "../config/env.js";
import { openDatabase } from "../db/open.js";
import { detectSandbox } from "../sandbox/sandbox.js";
import { createMetrics } from "../observability/metrics.js";
import { serveMetrics } from "../observability/metrics-server.js";
import { semconv } from "../observability/semconv.js";
import { startTracing } from "../observability/tracing.js";
import { CliError } from "./errors.js";
import { onShutdown } from "./shutdown.js";

/** `tollgate worker`: workers only, sharing one PostgreSQL database with the web process. */
export async function worker(env: AppEnv, log: Logger): Promise<void> {
  if (env.database.kind !== "postgres") {
    throw new CliError(
      "DATABASE_URL is not set: separate worker processes need a shared PostgreSQL database (the embedded one belongs to one process; `npm start` runs the web server and its workers together)",
    );
  }
  if (!env.github) throw new CliError("APP_ID is missing: workers need the GitHub App's APP_ID, PRIVATE_KEY and WEBHOOK_SECRET");
  if (!env.anthropic.apiKey) throw new CliError("ANTHROPIC_API_KEY is missing: workers call the model");
  const shutdown = onShutdown(log);
  const tracing = await startTracing(env.telemetry, log);
  if (tracing) shutdown.add(() => tracing.shutdown()); // last of all: the spans of the jobs finished while stopping
  const services = await openServices(await openDatabase(env, log), log);
  shutdown.add(() => services.close());
  // this process's model calls, which no other process sees (the ledger's metrics are the web process's)
  const metrics = createMetrics({ semconv: semconv(env.telemetry.semconvOptIn) });
  const port = env.telemetry.workerMetricsPort;
  if (port) {
    const server = await serveMetrics(metrics, { port, host: env.host, token: env.dashboard.token, public: env.metrics.public, log });
    shutdown.add(() => server.close());
  }
  const models = { ...modelServices(env, services.db), telemetry: { genAi: metrics.genAi } };
  await startWorkers(services, githubFactory(env.github, env, log), log, models, {
    concurrency: env.workerConcurrency,
    dataDir: env.dataDir,
    setup: env.setup,
    soleProcess: false,
    sandbox: detectSandbox(log, { allowUnsafe: env.allowUnsandboxed }),
  });
  log.info({ concurrency: env.workerConcurrency }, "worker started");
}
