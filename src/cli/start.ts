import type { Logger } from "pino";
import { run as runProbot } from "probot";
import { openServices } from "../app/services.js";
import { startServer, webMetrics } from "../app/server.js";
import { modelServices } from "../app/model.js";
import { githubFactory, startWorkers } from "../app/workers.js";
import { appOctokit, CatchUp, sweepLease } from "../app/catch-up.js";
import { rawEnvironment, type AppEnv } from "../config/env.js";
import { openDatabase } from "../db/open.js";
import { IntakePressure } from "../queue/intake.js";
import { detectSandbox } from "../sandbox/sandbox.js";
import { startTracing } from "../observability/tracing.js";
import { CliError } from "./errors.js";
import { onShutdown } from "./shutdown.js";

/**
 * `tollgate start` (`npm start`): the webhook server with workers in the same process (or
 * without, `--no-workers`, when `tollgate worker` processes do the work). Before the app is
 * registered (no APP_ID), Probot's setup flow registers it from app.yml.
 */
export async function start(env: AppEnv, log: Logger, options: { workers?: boolean } = {}): Promise<void> {
  if (!env.github) {
    log.info("APP_ID is not set: serving the GitHub App setup flow; open the URL below to register Tollgate");
    await runProbot(() => undefined, { env: rawEnvironment() });
    return;
  }
  if (options.workers === false && env.database.kind !== "postgres") {
    throw new CliError("--no-workers needs DATABASE_URL: with the embedded database, nobody else can run the jobs");
  }
  if (options.workers !== false && !env.anthropic.apiKey) {
    throw new CliError(
      "ANTHROPIC_API_KEY is missing: the workers call the model (set it, or run `start --no-workers` with separate workers)",
    );
  }
  const shutdown = onShutdown(log);
  const tracing = await startTracing(env.telemetry, log);
  if (tracing) shutdown.add(() => tracing.shutdown()); // last of all: the spans of the jobs finished while stopping
  // the deliveries' rate: in a burst they are answered once recorded, and this process's workers make way
  const intake = new IntakePressure();
  const services = await openServices(await openDatabase(env, log), log, { intake, workersYield: options.workers !== false });
  shutdown.add(() => services.close()); // finish the jobs in hand, then close the database
  services.outbox.start(); // what a crash left recorded and unsent goes to the queue now
  const metrics = webMetrics(env, services); // the server's, and the histograms of this process's model calls
  const catchUpLog = log.child({ name: "catch-up" });
  const catchUp = new CatchUp(appOctokit(env.github, env, catchUpLog), services.deliveries, catchUpLog, {
    ...env.catchUp,
    lease: sweepLease(services.leases), // several web processes: one sweeps
  });
  const server = await startServer(env, env.github, services, log, metrics, () => catchUp.report()).catch(async (error: unknown) => {
    await services.close();
    throw error;
  });
  shutdown.add(() => server.stop()); // first of all: no new webhooks
  // once the server listens, so that what GitHub sends again finds it up; stopped before the server
  catchUp.start();
  shutdown.add(() => catchUp.stop());
  if (options.workers !== false) {
    const models = { ...modelServices(env, services.db), telemetry: { genAi: metrics.genAi } };
    await startWorkers(services, githubFactory(env.github, env, log), log, models, {
      concurrency: env.workerConcurrency,
      dataDir: env.dataDir,
      setup: env.setup,
      soleProcess: env.database.kind === "pglite",
      sandbox: detectSandbox(log, { allowUnsafe: env.allowUnsandboxed }),
    });
  } else {
    log.info("web only: jobs are left to `tollgate worker` processes");
  }
}
