import { Probot, type ProbotOctokit } from "probot";
import type { Logger } from "pino";
import type { AppEnv, GitHubAppCredentials } from "../config/env.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { Octokit } from "../github/issues.js";
import { detectSandbox, type Sandbox } from "../sandbox/sandbox.js";
import { carryOutRun, type CarryOutDeps } from "../pipeline/carry-out.js";
import { cancelRun, startRun } from "../pipeline/start-run.js";
import { jobIdForRun } from "../queue/job-id.js";
import { handleCommand } from "../commands/handle.js";
import { commandJobSchema, QUEUE, reviseJobSchema, runJobSchema, triggerJobSchema, type QueueName, type ReviseJob, type RunJob } from "../queue/jobs.js";
import { handleRevise } from "../pipeline/revise.js";
import { runsRoot as runsRoot_, sweepRunFolders } from "../workspace/run-folders.js";
import type { z } from "zod";
import { deliveryTracking, startDeadLetterWorker, startWorker, type JobResult, type JobTracking } from "../queue/worker.js";
import { meteredModel, type ModelServices } from "./model.js";
import type { Services } from "./services.js";

/** A factory of installation-authenticated Octokits: the worker's GitHub port. */
export type GitHubFactory = (installationId: number) => Promise<Octokit>;

export function githubFactory(
  credentials: GitHubAppCredentials,
  env: Pick<AppEnv, "githubApiUrl">,
  log: Logger,
  Octokit?: typeof ProbotOctokit,
): GitHubFactory {
  const probot = new Probot({
    Octokit,
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: env.githubApiUrl,
    log: log.child({ name: "github" }),
  });
  return async (installationId) => (await probot.auth(installationId)) as Octokit;
}

export interface WorkerOptions {
  concurrency: number;
  /** Where repository commands run (detected once at start; see src/sandbox/sandbox.ts). */
  sandbox?: Sandbox;
  pollingIntervalSeconds?: number;
  /** Run folders live under `<dataDir>/runs`. */
  dataDir: string;
  /** The embedded database: this is the only process, so jobs active at start-up were cut off by a crash. */
  soleProcess?: boolean;
  /** The queues to work (default: all). */
  queues?: QueueName[];
  cancelPollMs?: number;
}

/** What a run job's handler works with (the run worker's, and the tests'). */
export function runJobDeps(services: Services, github: GitHubFactory, models: ModelServices, options: Pick<WorkerOptions, "dataDir" | "cancelPollMs" | "sandbox">, log: Logger): CarryOutDeps {
  return {
    github,
    runs: services.runs,
    db: services.db,
    model: (config, runLog, budget) => meteredModel(models, config, runLog, budget),
    prices: models.prices,
    sandbox: options.sandbox ?? detectSandbox(log),
    runsRoot: runsRoot_(options.dataDir),
    cancelPollMs: options.cancelPollMs,
  };
}

/** Starts this process's workers. */
export async function startWorkers(services: Services, github: GitHubFactory, log: Logger, models: ModelServices, options: WorkerOptions): Promise<void> {
  const workerLog = log.child({ name: "worker" });
  const queues = new Set(options.queues ?? [QUEUE.trigger, QUEUE.command, QUEUE.revise, QUEUE.run, QUEUE.dead]);
  const model = (config: RepoConfig, runLog: Logger, budget: number | (() => number)) => meteredModel(models, config, runLog, budget);
  const runsRoot = runsRoot_(options.dataDir);
  await sweepRunFolders(runsRoot, services.db, workerLog);
  if (options.soleProcess) {
    const orphans = await services.queue.retryOrphans(QUEUE.run);
    if (orphans.length) workerLog.warn({ jobs: orphans }, `${orphans.length} run(s) were cut off by a stop: they resume now`);
  }

  const work = <S extends z.ZodType<{ deliveryId: string }>>(name: QueueName, schema: S, handle: (job: z.output<S>, log: Logger) => Promise<JobResult>, track?: JobTracking<z.output<S>>) =>
    startWorker({ queue: services.queue, deliveries: services.deliveries, log: workerLog, name, schema, concurrency: options.concurrency, pollingIntervalSeconds: options.pollingIntervalSeconds, handle, track });

  // the trigger and command jobs start runs alike
  const startDeps = {
    github,
    runs: services.runs,
    db: services.db,
    model,
    prices: models.prices,
    enqueueRun: async (job: RunJob) => void (await services.queue.send(QUEUE.run, job, jobIdForRun(job.runId))),
  };
  if (queues.has(QUEUE.trigger)) {
    await work(QUEUE.trigger, triggerJobSchema, (job, jobLog) => (job.kind === "unlabeled" || job.kind === "closed" ? cancelRun(job, startDeps, jobLog) : startRun(job, startDeps, jobLog)));
  }
  if (queues.has(QUEUE.command)) await work(QUEUE.command, commandJobSchema, (job, jobLog) => handleCommand(job, startDeps, jobLog));
  if (queues.has(QUEUE.revise)) {
    const deps = {
      ...startDeps,
      later: async (job: ReviseJob, seconds: number) => void (await services.queue.sendOnce(QUEUE.revise, job, `${job.repository.id}#${job.pr.number}`, seconds)),
    };
    const deliveries = deliveryTracking(services.deliveries, workerLog);
    // a revision that waits is the same delivery sent again: it is never "already handled"
    await work(QUEUE.revise, reviseJobSchema, (job, jobLog) => handleRevise(job, deps, jobLog), { ...deliveries, handled: async () => undefined });
  }
  if (queues.has(QUEUE.run)) {
    const deps = runJobDeps(services, github, models, options, workerLog);
    await work(QUEUE.run, runJobSchema, (job, jobLog) => carryOutRun(job, deps, jobLog), {
      handled: async (job) => {
        const run = await services.runs.get(job.runId);
        return run && run.status !== "queued" && run.status !== "running" ? `run ${run.status}` : undefined;
      },
      finish: async () => undefined, // the run's row and sticky comment hold the outcome
      failed: async (job, message) => services.runs.setStatus(job.runId, "failed", { error: message }),
    });
  }
  if (queues.has(QUEUE.dead)) {
    await startDeadLetterWorker({
      queue: services.queue,
      deliveries: services.deliveries,
      log: workerLog,
      name: QUEUE.dead,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
      onDeadRun: async (runId) => services.runs.setStatus(runId, "failed", { error: "the run's job did not finish on any of its tries" }),
    });
  }
}
