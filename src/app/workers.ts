import { Probot, type ProbotOctokit } from "probot";
import type { Logger } from "pino";
import type { AppEnv, GitHubAppCredentials } from "../config/env.js";
import type { ConfigReader } from "../config/load-repo-config.js";
import { acceptTrigger } from "../pipeline/accept-trigger.js";
import { QUEUE, triggerJobSchema } from "../queue/jobs.js";
import { startDeadLetterWorker, startWorker } from "../queue/worker.js";
import type { Services } from "./services.js";

/** A factory of installation-authenticated Octokits: the worker's GitHub port. */
export type GitHubFactory = (installationId: number) => Promise<ConfigReader>;

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
  return async (installationId) => (await probot.auth(installationId)) as unknown as ConfigReader;
}

/** Starts this process's workers on every queue. */
export async function startWorkers(
  services: Services,
  github: GitHubFactory,
  log: Logger,
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
    handle: (job, jobLog) => acceptTrigger(job, { github, runs: services.runs }, jobLog),
  });
  await startDeadLetterWorker({
    queue: services.queue,
    deliveries: services.deliveries,
    log: log.child({ name: "worker" }),
    name: QUEUE.dead,
    pollingIntervalSeconds: options.pollingIntervalSeconds,
  });
}
