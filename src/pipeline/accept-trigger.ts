import type { Logger } from "pino";
import { loadRepoConfig, type ConfigReader } from "../config/load-repo-config.js";
import { RepoConfigError } from "../config/repo-config.js";
import type { TriggerJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import type { RunStore } from "./runs.js";

export interface AcceptTriggerDeps {
  /** An Octokit authenticated as the installation. */
  github: (installationId: number) => Promise<ConfigReader>;
  runs: RunStore;
}

/**
 * The first step of a run, in the worker: read the repo's settings, check that the label is
 * this repo's trigger label, and create the run (one per delivery, one active per issue).
 */
export async function acceptTrigger(job: TriggerJob, deps: AcceptTriggerDeps, log: Logger): Promise<JobResult> {
  const { owner, name: repo } = job.repository;
  const octokit = await deps.github(job.installationId);

  let config;
  try {
    ({ config } = await loadRepoConfig(octokit, owner, repo));
  } catch (error) {
    if (!(error instanceof RepoConfigError)) throw error;
    log.warn({ repo: `${owner}/${repo}`, problems: error.problems }, error.message);
    return { outcome: "failed", detail: error.message };
  }

  if (job.label !== config.trigger.label) {
    return { outcome: "ignored", detail: `label "${job.label}" is not the trigger label "${config.trigger.label}"` };
  }

  const result = await deps.runs.create({
    deliveryId: job.deliveryId,
    installationId: job.installationId,
    repositoryId: job.repository.id,
    owner,
    repo,
    issueNumber: job.issue.number,
    budgetUsdMicros: Math.round(config.budget.run_usd * 1_000_000),
  });
  if (result.created) return { outcome: "done", detail: `run ${result.run.id} queued` };
  if (result.reason === "duplicate") return { outcome: "done", detail: `run ${result.run.id} already created` };
  return { outcome: "ignored", detail: `run ${result.run.id} is already active for ${owner}/${repo}#${job.issue.number}` };
}
