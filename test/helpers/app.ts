/**
 * Tollgate as GitHub sees it in tests: the real app and workers on a fresh database, a Probot
 * instance with a test key, GitHub's API mocked with nock (network disabled).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Probot, ProbotOctokit } from "probot";
import { runJobSchema, type QueueName, type RunJob } from "../../src/queue/jobs.js";
import type { Logger } from "pino";
import { DEFAULT_OPERATOR_CAPS, modelServices } from "../../src/app/model.js";
import { openServices, type Services } from "../../src/app/services.js";
import type { ModelPort } from "../../src/llm/model.js";
import type { OperatorCaps } from "../../src/llm/budget.js";
import { ScriptedModel } from "../../src/llm/scripted-model.js";
import { githubFactory, jobDeps, startWorkers } from "../../src/app/workers.js";
import type { Sandbox } from "../../src/sandbox/sandbox.js";
import { handleRun } from "../../src/jobs/run.js";
import type { JobResult } from "../../src/queue/worker.js";
import { tollgateApp } from "../../src/index.js";
import type { IntakePressure } from "../../src/queue/intake.js";
import type { OutboxOptions } from "../../src/queue/outbox.js";
import { webMetrics } from "../../src/app/server.js";
import type { TollgateMetrics } from "../../src/observability/metrics.js";
import type { NodeHandler } from "../../src/server/body-limit.js";
import { freshDatabase, type DbKind } from "./db.js";
import { TEST_PRIVATE_KEY } from "./keys.js";
import { GitHubRequestValidator } from "./openapi.js";

export const APP_ID = 123;
export const WEBHOOK_SECRET = "test-webhook-secret";
/**
 * Octokit without retries or throttling. A function, not an object: Probot's own defaults are
 * merged over an object's (its throttle options would switch the throttle back on, and every
 * write would wait the plugin's second), while a function sees them and has the last word.
 */
export const TestOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { enabled: false },
}));

export interface TestApp {
  probot: Probot;
  /** Every request the app sent to GitHub, checked against the OpenAPI description. */
  github: GitHubRequestValidator;
  services: Services;
  /** This app's metrics (its own registry), which its workers' model calls report to too. */
  metrics: TollgateMetrics;
  /** The HTTP handlers the app added (`/health`, `/metrics`), in order: each answers or returns false. */
  handlers: NodeHandler[];
  /** Starts this app's workers (polling every 0.5 s), on every queue unless `queues` says. */
  startWorkers(concurrency?: number, options?: { queues?: QueueName[]; sandbox?: Sandbox }): Promise<void>;
  /** Where runs clone their repositories. */
  dataDir: string;
  /** Carries out a run job in this process, outside the queue (as a worker that took it would). */
  runJob(job: RunJob): Promise<JobResult>;
  close(): Promise<void>;
}

export async function createTestApp(
  kind: DbKind,
  log: Logger,
  options: {
    model?: ModelPort;
    /** The operator's caps (TOLLGATE_DAILY_USD, TOLLGATE_RUN_USD_MAX). */
    operatorCaps?: OperatorCaps;
    /** TOLLGATE_DASHBOARD_TOKEN, which `/metrics` asks for (without it or `metricsPublic`, `/metrics` is refused). */
    token?: string;
    /** TOLLGATE_METRICS_PUBLIC=1 */
    metricsPublic?: boolean;
    /** TOLLGATE_METRICS_REPOSITORY_LABELS=1 */
    repositoryLabels?: boolean;
    /** The web path's count of deliveries (src/queue/intake.ts), which a test puts in a burst. */
    intake?: IntakePressure;
    /** The outbox's settings (its burst delay, which a test may never end). */
    outbox?: OutboxOptions;
  } = {},
): Promise<TestApp> {
  const github = new GitHubRequestValidator();
  const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-app-"));
  const Octokit = TestOctokit.plugin(github.plugin);
  const services = await openServices(await freshDatabase(kind), log, {
    maintenance: false,
    retry: { retryLimit: 1, retryDelay: 1, retryBackoff: false },
    runRetry: { retryLimit: 1, retryDelay: 1, retryBackoff: false },
    intake: options.intake,
    outbox: options.outbox,
  });
  const probot = new Probot({ appId: APP_ID, privateKey: TEST_PRIVATE_KEY, secret: WEBHOOK_SECRET, log, Octokit });
  const metrics = webMetrics(
    {
      telemetry: { semconvOptIn: [] },
      caps: options.operatorCaps ?? DEFAULT_OPERATOR_CAPS,
      metrics: { repositoryLabels: options.repositoryLabels ?? false },
    },
    services,
  );
  const handlers: NodeHandler[] = [];
  const app = tollgateApp({
    ...services,
    reviewWaitSeconds: 1,
    metrics,
    metricsToken: options.token,
    metricsPublic: options.metricsPublic,
  });
  await probot.load(app, { cwd: process.cwd(), addHandler: (handler: NodeHandler) => void handlers.push(handler) });
  const credentials = { appId: APP_ID, privateKey: TEST_PRIVATE_KEY, webhookSecret: WEBHOOK_SECRET };
  const github_ = githubFactory(credentials, { githubApiUrl: "https://api.github.com" }, log, Octokit);
  const models = {
    ...modelServices({ anthropic: {}, prices: [], caps: options.operatorCaps }, services.db, options.model ?? new ScriptedModel([])),
    telemetry: { genAi: metrics.genAi },
  };
  return {
    probot,
    github,
    services,
    metrics,
    handlers,
    dataDir,
    startWorkers: (concurrency = 1, workerOptions = {}) =>
      startWorkers(services, github_, log, models, {
        concurrency,
        pollingIntervalSeconds: 0.5,
        dataDir,
        cancelPollMs: 200,
        ...workerOptions,
      }),
    runJob: (job) => handleRun(runJobSchema.parse(job), jobDeps(services, github_, models, { dataDir, cancelPollMs: 200 }, log), log),
    close: () => services.close(5000),
  };
}
