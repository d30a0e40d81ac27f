/**
 * A trigger, in the worker: the steps before any code is written.
 *   1. Read the repo's settings (an invalid file is reported on the issue; nothing is spent).
 *   2. Check that the label is this repo's trigger label (an edit: that the issue still has it).
 *   3. Authorize the sender: admin, maintain or write on the repo (an edit re-runs the gate a
 *      writer started, whoever edits).
 *   4. Create the run (one per delivery, one active per issue).
 *   5. Run the spec gate (a checkpointed phase) and post its verdict as the sticky comment.
 *   6. Label: not ready → `ai-needs-spec`, the run ends `needs_spec`; ready → the label goes,
 *      the run is `queued`, and its pipeline job is sent to the run queue (src/pipeline/carry-out.ts).
 */
import type { Logger } from "pino";
import { REPO_CONFIG_PATH, RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import type { Octokit } from "../github/issues.js";
import { openIssue, repoSettings, type IssueContext } from "./issue-context.js";
import { expectedCost } from "../ledger/history.js";
import { BudgetExceededError, DeadlineExceededError, ModelCallError } from "../llm/errors.js";
import type { MeteredModel } from "../llm/metered-model.js";
import { formatUsd, usdToMicros } from "../llm/money.js";
import { GateOutputError, runGate } from "../phases/gate/gate.js";
import { issueText } from "../phases/gate/input.js";
import type { RunJob, TriggerJob } from "../queue/jobs.js";
import { PhaseRunner } from "./phase.js";
import type { JobResult } from "../queue/worker.js";
import { renderConfigError, renderFailure, renderGateComment } from "../report/gate-comment.js";
import type { RunStore } from "./runs.js";

export const NEEDS_SPEC_LABEL = "ai-needs-spec";
const DEFAULT_TRIGGER = "ai-ready";
const MAY_TRIGGER = new Set(["admin", "maintain", "write"]);

export interface StartRunDeps {
  /** An Octokit authenticated as the installation. */
  github: (installationId: number) => Promise<Octokit>;
  runs: RunStore;
  db: Database;
  /** The metered model for a run, on the repo's tiers and budgets. */
  model: (config: RepoConfig, log: Logger, runBudgetMicros: number | (() => number)) => MeteredModel;
  /** Sends a ready run's pipeline job. */
  enqueueRun: (job: RunJob) => Promise<void>;
}

export async function startRun(job: TriggerJob, deps: StartRunDeps, log: Logger): Promise<JobResult> {
  const ctx = await openIssue(deps.github, job);
  const { gh, owner, repo, issue } = ctx;

  // 1. settings
  const config = await repoSettings(ctx);
  if (config instanceof RepoConfigError) {
    log.warn({ problems: config.problems }, config.message);
    // The trigger label cannot be read from a broken file: answer on the default one only.
    if (job.label === DEFAULT_TRIGGER) await gh.upsertSticky(issue, renderConfigError(config.problems, REPO_CONFIG_PATH));
    return { outcome: "failed", detail: config.message };
  }

  // 2. the trigger label
  if (job.kind === "edited") {
    const { labels, state } = await gh.issue(issue);
    if (state !== "open" || !labels.includes(config.trigger.label)) {
      return { outcome: "ignored", detail: `edit of an issue without the open trigger label "${config.trigger.label}"` };
    }
  } else if (job.label !== config.trigger.label) {
    return { outcome: "ignored", detail: `label "${job.label}" is not the trigger label "${config.trigger.label}"` };
  }

  // 3. the sender
  const permission = job.kind === "edited" ? "write" : await gh.permission(job.sender.login);
  if (!MAY_TRIGGER.has(permission)) {
    await gh.comment(
      issue,
      `@${job.sender.login}, only people with write, maintain or admin access to ${owner}/${repo} can start Tollgate (you have ${permission} access). Ask a maintainer to add \`${config.trigger.label}\`.`,
    );
    return { outcome: "ignored", detail: `${job.sender.login} has ${permission} access` };
  }

  // 4. the run
  const budgetMicros = usdToMicros(config.budget.run_usd);
  const created = await deps.runs.create({
    deliveryId: job.deliveryId,
    installationId: job.installationId,
    repositoryId: job.repository.id,
    owner,
    repo,
    issueNumber: issue,
    budgetUsdMicros: budgetMicros,
  });
  if (!created.created && created.reason === "active") {
    if (job.kind === "edited") return { outcome: "ignored", detail: `run ${created.run.id} is already active; the edit is read by it or the next run` };
    await gh.comment(issue, `Tollgate is already working on this issue (run \`${created.run.id}\`): its progress is in the Tollgate comment above.`);
    return { outcome: "ignored", detail: `run ${created.run.id} is already active for ${owner}/${repo}#${issue}` };
  }
  const run = created.run;
  if (!created.created && run.status !== "queued" && run.status !== "running") {
    return { outcome: "done", detail: `run ${run.id} already ended ${run.status}` };
  }
  await deps.runs.setStatus(run.id, "running");
  const runLog = log.child({ run: run.id });

  // 5. the gate (a checkpoint: a retried job does not pay for it twice)
  let result;
  try {
    result = (
      await new PhaseRunner(deps.db, run.id, runLog).run("gate", 0, async () => {
        await gh.upsertSticky(issue, `### Tollgate\n\nChecking whether this issue is specified well enough (spec gate on \`${config.tiers[config.phases.gate]}\`)…`);
        const [data, comments, summary] = await Promise.all([gh.issue(issue), gh.comments(issue), gh.summary()]);
        const input = issueText(data, comments);
        if (input.removed.length) runLog.info({ removed: input.removed }, "hidden or secret-shaped text removed from the issue before the gate");
        return runGate(deps.model(config, runLog, budgetMicros), { issue: input.text, repoSummary: summary }, { runId: run.id, installationId: job.installationId, iteration: 0 });
      })
    ).value;
  } catch (error) {
    if (!(error instanceof GateOutputError || error instanceof BudgetExceededError || error instanceof ModelCallError || error instanceof DeadlineExceededError)) throw error;
    runLog.error({ err: error }, "the spec gate failed");
    await deps.runs.setStatus(run.id, "failed", { error: error.message });
    await gh.upsertSticky(issue, renderFailure("the spec gate failed", error.message));
    return { outcome: "failed", detail: error.message };
  }

  // 6. labels and the verdict, unless the run was cancelled meanwhile
  if ((await deps.runs.get(run.id))?.status === "cancelled") {
    runLog.info("the run was cancelled during the gate: its verdict is not posted");
    return { outcome: "done", detail: "cancelled during the gate" };
  }
  const { verdict } = result;
  const expected = await expectedCost(deps.db, { installationId: job.installationId, owner, repo, ticketType: verdict.ticket_type, excludeRunId: run.id });
  if (verdict.ready) {
    await gh.removeLabel(issue, NEEDS_SPEC_LABEL);
  } else {
    await gh.ensureLabel(NEEDS_SPEC_LABEL, "d93f0b", "Tollgate: the issue needs more detail before work starts");
    await gh.addLabels(issue, [NEEDS_SPEC_LABEL]);
  }
  const status = verdict.ready ? "ready: planning starts shortly; this comment shows the progress." : `not ready: labelled \`${NEEDS_SPEC_LABEL}\`.`;
  await gh.upsertSticky(
    issue,
    renderGateComment({ verdict, gateCostMicros: result.costMicros, expected, status, needsSpecLabel: NEEDS_SPEC_LABEL, triggerLabel: config.trigger.label }),
  );
  await deps.runs.setStatus(run.id, verdict.ready ? "queued" : "needs_spec", { ticketType: verdict.ticket_type });
  if (verdict.ready) {
    await deps.enqueueRun({ runId: run.id, deliveryId: job.deliveryId, installationId: job.installationId, repository: job.repository, issue: job.issue, ...(job.retry ? { fromHumanHead: true } : {}) });
  }
  return { outcome: "done", detail: `gate: ${verdict.ready ? "ready" : "not ready"} (score ${verdict.score})` };
}

/** Marks the run cancelled (its worker stops at the next safe point) and says so on the issue. */
export async function cancelActiveRun(ctx: IssueContext, deps: Pick<StartRunDeps, "runs" | "db">, runId: string, why: string, next: string): Promise<void> {
  await deps.runs.setStatus(runId, "cancelled");
  const spent = await deps.db.query<{ micros: number | null }>("SELECT sum(cost_usd_micros)::bigint AS micros FROM llm_calls WHERE run_id = $1", [runId]);
  await ctx.gh.upsertSticky(ctx.issue, `### Tollgate: cancelled\n\nThe run was cancelled: ${why}. Nothing more will be spent (spent: ${formatUsd(spent.rows[0]?.micros ?? 0)}). ${next}`);
}

/**
 * The trigger label removed, or the issue closed: the issue's active run is cancelled. A run in
 * the middle of the gate finishes its model call, sees the cancel, and posts nothing more.
 */
export async function cancelRun(job: TriggerJob, deps: Pick<StartRunDeps, "github" | "runs" | "db">, log: Logger): Promise<JobResult> {
  const active = await deps.runs.active(job.repository.id, job.issue.number);
  if (!active) return { outcome: "ignored", detail: "no active run to cancel" };
  const ctx = await openIssue(deps.github, job);
  const settings = await repoSettings(ctx);
  const trigger = settings instanceof RepoConfigError ? DEFAULT_TRIGGER : settings.trigger.label; // a broken file: the default label stands
  if (job.kind === "unlabeled" && job.label !== trigger) return { outcome: "ignored", detail: `label "${job.label}" is not the trigger label` };
  const why = job.kind === "closed" ? `the issue was closed by @${job.sender.login}` : `@${job.sender.login} removed \`${trigger}\``;
  await cancelActiveRun(ctx, deps, active.id, why, `Add \`${trigger}\` again to start over.`);
  log.info({ run: active.id, why }, "run cancelled");
  return { outcome: "done", detail: `run ${active.id} cancelled` };
}
