/**
 * A run that follows an earlier one of the same issue (`/retry plan`, `/retry execute`,
 * `/approve`, a PR revision): it gets the earlier run's checkpoints of the phases it reuses, so
 * it starts after them, and is sent on to its pipeline.
 */
import type { RepoConfig } from "../config/repo-config.js";
import { usdToMicros } from "../llm/money.js";
import type { RunStore } from "../stores/runs.js";
import type { IssueContext } from "./issue-context.js";
import type { PhaseName } from "../phases/registry.js";
import type { RunRepository, RunTarget } from "./run-target.js";

export interface FollowUp {
  runs: RunStore;
  enqueueRun: (target: RunTarget) => Promise<void>;
  ctx: IssueContext;
  /** What asked for it: its delivery (one run per delivery), installation and repository. */
  cause: { deliveryId: string; installationId: number; repository: RunRepository };
  config: RepoConfig;
  previous: string;
  reuse: PhaseName[];
  kind?: "issue" | "revise";
  /** Changes the copied checkpoints before the run is queued (e.g. an approved gate). */
  amend?: (runId: string) => Promise<void>;
  revise?: RunTarget["revise"];
}

export async function queueFollowUpRun(f: FollowUp): Promise<string> {
  const { deliveryId, installationId, repository } = f.cause;
  const { run } = await f.runs.create({
    deliveryId,
    installationId,
    repositoryId: repository.id,
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
  await f.enqueueRun({
    runId: run.id,
    installationId,
    repository,
    issue: { number: f.ctx.issue, title },
    ...(f.revise ? { revise: f.revise } : {}),
  });
  return run.id;
}
