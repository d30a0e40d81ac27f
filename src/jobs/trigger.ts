/**
 * The trigger queue: a label added or removed, an issue edited or closed.
 *   - labeled / edited: the repo's settings; the trigger label; the sender's access; the gate
 *     (src/pipeline/gate-run.ts), which sends a ready run on.
 *   - unlabeled / closed: the issue's active run is cancelled.
 */
import type { Logger } from "pino";
import { REPO_CONFIG_PATH, RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import { cancelActiveRun } from "../pipeline/cancel.js";
import { gateRun } from "../pipeline/gate-run.js";
import type { TriggerJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { renderConfigError } from "../report/gate-comment.js";
import { JobContext } from "./context.js";
import type { JobDeps } from "./deps.js";

/** The label that triggers when a broken settings file hides the configured one. */
export const DEFAULT_TRIGGER = "ai-ready";

export async function handleTrigger(job: TriggerJob, deps: JobDeps, log: Logger): Promise<JobResult> {
  if (job.kind === "unlabeled" || job.kind === "closed") return cancelOnIssue(job, deps, log);
  const ctx = await JobContext.open(deps.github, job);
  const config = await ctx.settings();
  if (config instanceof RepoConfigError) return brokenSettings(ctx, job, config, log);
  const notTrigger = await notTheTrigger(ctx, job, config);
  if (notTrigger) return { outcome: "ignored", detail: notTrigger };
  // an edit re-runs the gate a writer started, whoever edits
  if (job.kind !== "edited") {
    const access = await ctx.may(job.sender.login, "write");
    if (!access.allowed) {
      await ctx.gh.comment(ctx.issue, `${access.refusal("start Tollgate")} Ask a maintainer to add \`${config.trigger.label}\`.`);
      return { outcome: "ignored", detail: `${job.sender.login} has ${access.permission} access` };
    }
  }
  const input = {
    deliveryId: job.deliveryId,
    installationId: job.installationId,
    repository: job.repository,
    issue: job.issue,
    edited: job.kind === "edited",
    retry: job.retry,
  };
  return gateRun(ctx, input, config, { ...deps, enqueueRun: (target) => deps.enqueueRun(target, job.deliveryId) }, log);
}

/** An invalid settings file is reported on the issue (on the default label only: the configured one cannot be read); nothing is spent. */
async function brokenSettings(ctx: JobContext, job: TriggerJob, config: RepoConfigError, log: Logger): Promise<JobResult> {
  log.warn({ problems: config.problems }, config.message);
  if (job.label === DEFAULT_TRIGGER) await ctx.gh.upsertSticky(ctx.issue, renderConfigError(config.problems, REPO_CONFIG_PATH));
  return { outcome: "failed", detail: config.message };
}

/** Why this event is not the trigger (another label; an edit of an issue without the label), or undefined. */
async function notTheTrigger(ctx: JobContext, job: TriggerJob, config: RepoConfig): Promise<string | undefined> {
  const label = config.trigger.label;
  if (job.kind !== "edited") return job.label === label ? undefined : `label "${job.label}" is not the trigger label "${label}"`;
  const { labels, state } = await ctx.gh.issue(ctx.issue);
  return state === "open" && labels.includes(label) ? undefined : `edit of an issue without the open trigger label "${label}"`;
}

/** The trigger label removed, or the issue closed: a run in the middle of the gate finishes its model call, sees the cancel, and posts nothing more. */
async function cancelOnIssue(job: TriggerJob, deps: JobDeps, log: Logger): Promise<JobResult> {
  const active = await deps.runs.active(job.repository.id, job.issue.number);
  if (!active) return { outcome: "ignored", detail: "no active run to cancel" };
  const ctx = await JobContext.open(deps.github, job);
  const settings = await ctx.settings();
  const trigger = settings instanceof RepoConfigError ? DEFAULT_TRIGGER : settings.trigger.label; // a broken file: the default label stands
  if (job.kind === "unlabeled" && job.label !== trigger)
    return { outcome: "ignored", detail: `label "${job.label}" is not the trigger label` };
  const why = job.kind === "closed" ? `the issue was closed by @${job.sender.login}` : `@${job.sender.login} removed \`${trigger}\``;
  await cancelActiveRun(ctx, deps, active.id, why, `Add \`${trigger}\` again to start over.`);
  log.info({ run: active.id, why }, "run cancelled");
  return { outcome: "done", detail: `run ${active.id} cancelled` };
}
