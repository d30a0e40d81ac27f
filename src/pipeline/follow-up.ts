/**
 * A run that follows an earlier one of the same issue (`/retry plan`, `/retry execute`,
 * `/approve`, a PR revision): it gets the earlier run's checkpoints of the phases it reuses, so
 * it starts after them, and its pipeline job is queued.
 */
import type { RepoConfig } from "../config/repo-config.js";
import { usdToMicros } from "../llm/money.js";
import type { RunJob } from "../queue/jobs.js";
import type { IssueContext } from "./issue-context.js";
import type { RunStore } from "./runs.js";

export interface FollowUp {
  runs: RunStore;
  enqueueRun: (job: RunJob) => Promise<void>;
  ctx: IssueContext;
  job: { deliveryId: string; installationId: number; repository: RunJob["repository"] };
  config: RepoConfig;
  previous: string;
  reuse: string[];
  kind?: "issue" | "revise";
  /** Changes the copied checkpoints before the run is queued (e.g. an approved gate). */
  amend?: (runId: string) => Promise<void>;
  revise?: RunJob["revise"];
}

export async function queueFollowUpRun(f: FollowUp): Promise<string> {
  const { run } = await f.runs.create({
    deliveryId: f.job.deliveryId,
    installationId: f.job.installationId,
    repositoryId: f.job.repository.id,
    owner: f.ctx.owner,
    repo: f.ctx.repo,
    issueNumber: f.ctx.issue,
    budgetUsdMicros: usdToMicros(f.config.budget.run_usd),
    kind: f.kind ?? "issue",
  });
  await f.runs.copyCheckpoints(f.previous, run.id, f.reuse);
  await f.amend?.(run.id);
  await f.runs.setStatus(run.id, "queued");
  const title = (await f.ctx.gh.issue(f.ctx.issue)).title;
  await f.enqueueRun({ runId: run.id, deliveryId: f.job.deliveryId, installationId: f.job.installationId, repository: f.job.repository, issue: { number: f.ctx.issue, title }, ...(f.revise ? { revise: f.revise } : {}) });
  return run.id;
}
