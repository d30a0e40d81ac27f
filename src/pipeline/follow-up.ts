/**
 * A run that follows an earlier one of the same issue (`/retry plan`, `/retry execute`,
 * `/approve`, a PR revision): it gets the earlier run's checkpoints of the phases it reuses, so
 * it starts after them, and is sent on to its pipeline.
 *
 * It never touches a run that is active: when another run of the issue is queued or running,
 * nothing is created, copied or changed and the caller hears which run is in the way. The
 * checkpoints are copied, and amended, only into the run this delivery created, before any
 * worker has it (the stores refuse any other: src/stores/runs.ts `copyCheckpoints`,
 * src/stores/phases.ts `approveGate`).
 */
import type { RepoConfig } from "../config/repo-config.js";
import { usdToMicros } from "../llm/money.js";
import type { RunRow, RunStore } from "../stores/runs.js";
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
  /** Who authorised it (the `/approve`r, the `/retry`er, the reviewers): recorded on the run. */
  authorizedBy: string;
  /** Changes the copied checkpoints of the new run before it is queued (e.g. an approved gate). */
  amend?: (runId: string) => Promise<unknown>;
  revise?: RunTarget["revise"];
}

/** The new run, queued; or the active run that stood in the way (nothing was done). */
export type FollowUpResult = { queued: string } | { active: RunRow };

export async function queueFollowUpRun(f: FollowUp): Promise<FollowUpResult> {
  const { deliveryId, installationId, repository } = f.cause;
  const created = await f.runs.create({
    deliveryId,
    installationId,
    repositoryId: repository.id,
    owner: f.ctx.owner,
    repo: f.ctx.repo,
    issueNumber: f.ctx.issue,
    budgetUsdMicros: usdToMicros(f.config.budget.run_usd),
    kind: f.kind ?? "issue",
    authorizedBy: f.authorizedBy,
  });
  if (!created.created && created.reason === "active") return { active: created.run };
  const { run } = created;
  // a retried job finds the run it made: once a worker has it, it is not touched again
  if (!created.created && run.status !== "queued") return { queued: run.id };
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
  return { queued: run.id };
}
