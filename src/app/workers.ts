import { Probot, type ProbotOctokit } from "probot";
import type { Logger } from "pino";
import type { AppEnv, GitHubAppCredentials } from "../config/env.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { Octokit } from "../github/issues.js";
import { cancelRun, startRun } from "../pipeline/start-run.js";
import { QUEUE, triggerJobSchema } from "../queue/jobs.js";
import { startDeadLetterWorker, startWorker } from "../queue/worker.js";
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

/** Starts this process's workers on every queue. */
export async function startWorkers(
  services: Services,
  github: GitHubFactory,
  log: Logger,
  models: ModelServices,
  options: { concurrency: number; pollingIntervalSeconds?: number },
): Promise<void> {
  await startWorker({
    queue: services.queue,
    deliveries: services.deliveries,
    log: log.child({ name: "worker" }),
    name: QUEUE.trigger,
    schema: triggerJobSchema,
    concurrency: options.concurrency,
    pollingIntervalSeconds: options.pollingIntervalSeconds,
    handle: (job, jobLog) => {
      const deps = { github, runs: services.runs, db: services.db, model: (config: RepoConfig, runLog: Logger, budget: number) => meteredModel(models, config, runLog, budget) };
      return job.kind === "unlabeled" || job.kind === "closed" ? cancelRun(job, deps, jobLog) : startRun(job, deps, jobLog);
    },
  });
  await startDeadLetterWorker({
    queue: services.queue,
    deliveries: services.deliveries,
    log: log.child({ name: "worker" }),
    name: QUEUE.dead,
    pollingIntervalSeconds: options.pollingIntervalSeconds,
  });
}
