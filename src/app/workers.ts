/**
 * This process's workers: one per queue, each on its handler in src/jobs/, with the
 * dependencies they share built once here.
 */
import { Probot, type ProbotOctokit } from "probot";
import type { Logger } from "pino";
import type { z } from "zod";
import type { AppEnv, GitHubAppCredentials } from "../config/env.js";
import type { RepoConfig } from "../config/repo-config.js";
import { handleCommand } from "../jobs/command.js";
import type { GitHubFactory } from "../jobs/context.js";
import { handleDead } from "../jobs/dead.js";
import type { RunJobDeps } from "../jobs/deps.js";
import { handleRevise } from "../jobs/revise.js";
import { handleRun, runHandled } from "../jobs/run.js";
import { sweepStalledRuns } from "../jobs/run-sweep.js";
import { handleTrigger } from "../jobs/trigger.js";
import { appIdentity } from "../github/app-identity.js";
import type { Octokit } from "../github/issues.js";
import { TOLLGATE_IDENTITY } from "../pipeline/carry-out.js";
import { jobIdForRun } from "../queue/job-id.js";
import {
  commandJobSchema,
  HEARTBEAT_STALE_SECONDS,
  QUEUE,
  reviseJobSchema,
  RUN_SWEEP_SECONDS,
  runJobSchema,
  triggerJobSchema,
  type QueueName,
} from "../queue/jobs.js";
import { deliveryTracking, startWorker, type JobResult, type JobTracking } from "../queue/worker.js";
import { detectSandbox, type Sandbox } from "../sandbox/sandbox.js";
import { runsRoot as runsRoot_, sweepRunFolders } from "../workspace/run-folders.js";
import { DEFAULT_CACHE_MAX_BYTES, DependencyCache } from "../setup/cache.js";
import { toolchains } from "../setup/toolchains-on-hand.js";
import type { Identity } from "../workspace/workspace.js";
import { meteredModel, type ModelServices } from "./model.js";
import type { Services } from "./services.js";

export type { GitHubFactory } from "../jobs/context.js";

/**
 * The jobs' GitHub, and who the app's commits are by: its bot user, read from GitHub once per
 * factory (one per process) when the first run asks (src/github/app-identity.ts).
 */
export type AppGitHubFactory = GitHubFactory & { readonly identity: (installation: Octokit) => Promise<Identity> };
/** What the workers take: a factory that may say the app's identity (without, commits are by TOLLGATE_IDENTITY). */
type WorkersGitHub = GitHubFactory & Partial<Pick<AppGitHubFactory, "identity">>;

/** A Probot of the app's credentials, for its Octokits (an installation's, or the app's own JWT). */
export function appProbot(
  credentials: GitHubAppCredentials,
  env: Pick<AppEnv, "githubApiUrl">,
  log: Logger,
  Octokit?: typeof ProbotOctokit,
): Probot {
  return new Probot({
    Octokit,
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: env.githubApiUrl,
    log: log.child({ name: "github" }),
  });
}

export function githubFactory(
  credentials: GitHubAppCredentials,
  env: Pick<AppEnv, "githubApiUrl">,
  log: Logger,
  Octokit?: typeof ProbotOctokit,
): AppGitHubFactory {
  const probot = appProbot(credentials, env, log, Octokit);
  const forInstallation = async (installationId: number) => (await probot.auth(installationId)) as Octokit;
  // with no installation, Probot's Octokit is the app's own (its JWT), which GET /app needs
  const identity = appIdentity(async () => (await probot.auth()) as Octokit, TOLLGATE_IDENTITY, log);
  return Object.assign(forInstallation, { appId: credentials.appId, identity });
}

export interface WorkerOptions {
  concurrency: number;
  /** Where repository commands run (detected once at start; see src/sandbox/sandbox.ts). */
  sandbox?: Sandbox;
  pollingIntervalSeconds?: number;
  /** Run folders live under `<dataDir>/runs`, the dependency cache under `<dataDir>/cache`. */
  dataDir: string;
  /** The dependency cache's cap and the operator's setup variables (AppEnv.setup). */
  setup?: AppEnv["setup"];
  /** The embedded database: this is the only process, so jobs active at start-up were cut off by a crash. */
  soleProcess?: boolean;
  /** The queues to work (default: all). */
  queues?: QueueName[];
  /** How often a running run beats and looks for a cancel, in ms (default 1 s). */
  cancelPollMs?: number;
  /** A run whose heartbeat is older than this is taken over (default HEARTBEAT_STALE_SECONDS). */
  heartbeatStaleSeconds?: number;
  /** How often this process looks for such runs (default RUN_SWEEP_SECONDS). */
  runSweepSeconds?: number;
}

/** What the job handlers work with (the workers', and the tests'). */
export function jobDeps(
  services: Services,
  github: WorkersGitHub,
  models: ModelServices,
  options: Pick<WorkerOptions, "dataDir" | "cancelPollMs" | "sandbox" | "setup">,
  log: Logger,
): RunJobDeps {
  const { queue } = services;
  return {
    ...services,
    github,
    model: (config: RepoConfig, runLog: Logger, budget: number | (() => number)) => meteredModel(models, config, runLog, budget),
    prices: models.prices,
    operatorCaps: models.operatorCaps,
    enqueueRun: async (target, deliveryId) =>
      void (await queue.send(QUEUE.run, { ...target, deliveryId, restart: 0 }, jobIdForRun(target.runId))),
    reviseLater: async (job, seconds) => void (await queue.sendOnce(QUEUE.revise, job, `${job.repository.id}#${job.pr.number}`, seconds)),
    sandbox: options.sandbox ?? detectSandbox(log),
    runsRoot: runsRoot_(options.dataDir),
    setupCache: new DependencyCache(options.dataDir, options.setup?.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES),
    setupEnv: options.setup?.env ?? {},
    setupToolchains: toolchains(options.dataDir, options.setup, log),
    cancelPollMs: options.cancelPollMs,
    appIdentity: github.identity,
  };
}

/** Starts this process's workers. */
export async function startWorkers(
  services: Services,
  github: WorkersGitHub,
  log: Logger,
  models: ModelServices,
  options: WorkerOptions,
): Promise<void> {
  const workerLog = log.child({ name: "worker" });
  const queues = new Set(options.queues ?? [QUEUE.trigger, QUEUE.command, QUEUE.revise, QUEUE.run, QUEUE.dead]);
  const deps = jobDeps(services, github, models, options, workerLog);
  await sweepRunFolders(deps.runsRoot, services.runs, workerLog);
  if (options.soleProcess) {
    const orphans = await services.queue.retryOrphans(QUEUE.run);
    if (orphans.length) workerLog.warn({ jobs: orphans }, `${orphans.length} run(s) were cut off by a stop: they resume now`);
  }

  const work = <S extends z.ZodType<{ deliveryId: string }>>(
    name: QueueName,
    schema: S,
    handle: (job: z.output<S>, log: Logger) => Promise<JobResult>,
    track?: JobTracking<z.output<S>>,
  ) =>
    queues.has(name) &&
    startWorker({
      queue: services.queue,
      deliveries: services.deliveries,
      log: workerLog,
      name,
      schema,
      concurrency: options.concurrency,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
      handle,
      track,
    });

  await work(QUEUE.trigger, triggerJobSchema, (job, jobLog) => handleTrigger(job, deps, jobLog));
  await work(QUEUE.command, commandJobSchema, (job, jobLog) => handleCommand(job, deps, jobLog));
  // a revision that waits is the same delivery sent again: it is never "already handled"
  await work(QUEUE.revise, reviseJobSchema, (job, jobLog) => handleRevise(job, deps, jobLog), {
    ...deliveryTracking(services.deliveries, workerLog),
    handled: async () => undefined,
  });
  await work(QUEUE.run, runJobSchema, (job, jobLog) => handleRun(job, deps, jobLog), {
    handled: (job) => runHandled(job, deps),
    finish: async () => undefined, // the run's row and sticky comment hold the outcome
    failed: async (job, message) => services.runs.failIfCurrent(job.runId, job.restart, message),
  });
  if (queues.has(QUEUE.run)) {
    const stale = options.heartbeatStaleSeconds ?? HEARTBEAT_STALE_SECONDS;
    services.queue.every((options.runSweepSeconds ?? RUN_SWEEP_SECONDS) * 1000, () =>
      sweepStalledRuns({ runs: services.runs, queue: services.queue, log: workerLog }, stale),
    );
  }
  if (queues.has(QUEUE.dead)) {
    await services.queue.work<{ deliveryId?: string; runId?: string }>(
      QUEUE.dead,
      1,
      (job) => handleDead(job, services, workerLog),
      options.pollingIntervalSeconds,
    );
  }
}
