/**
 * The trigger queue: a label added or removed, an issue edited or closed.
 *   - labeled / edited: the repo's settings; the issue still open with the trigger label (a
 *     replayed or stale delivery finds it gone and spends nothing); who authorises the run, and
 *     for which text (src/pipeline/text-authority.ts); the gate (src/pipeline/gate-run.ts), which
 *     sends a ready run on.
 *       - labeled: the sender needs write access and must be who added the label last (the
 *         issue's latest `labeled` event for it, which the run records: one label event starts
 *         one run). Refused, they hear why once an hour at most. The issue edited since the label
 *         by anyone but a writer: refused, saying so.
 *       - edited: the gate runs again only when the trigger label was added by someone who has
 *         write access now, no run is active, and the edit that made the issue's text was made by
 *         someone with write access. At most `EDIT_GATES_PER_HOUR` such re-runs per issue an
 *         hour; the issue hears once when the limit bites.
 *   - unlabeled / closed: the issue's active run is cancelled.
 */
import type { Logger } from "pino";
import { REPO_CONFIG_PATH, RepoConfigError } from "../config/repo-config.js";
import type { IssueData } from "../phases/gate/issue.js";
import { cancelActiveRun } from "../pipeline/cancel.js";
import { gateRun } from "../pipeline/gate-run.js";
import type { TriggerJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { renderConfigError } from "../report/gate-comment.js";
import { JobContext } from "./context.js";
import type { JobDeps } from "./deps.js";
import { vouchedText } from "../pipeline/text-authority.js";

/** The label that triggers when a broken settings file hides the configured one. */
export const DEFAULT_TRIGGER = "ai-ready";

/** Gate re-runs that edits may start on one issue in an hour. */
export const EDIT_GATES_PER_HOUR = 6;
/** The subject under which the rate limit's notice is given once an hour (no login starts with `:`). */
const GATE_LIMIT_NOTICE = ":gate-limit";

export async function handleTrigger(job: TriggerJob, deps: JobDeps, log: Logger): Promise<JobResult> {
  if (job.kind === "unlabeled" || job.kind === "closed") return cancelOnIssue(job, deps, log);
  const ctx = await JobContext.open(deps.github, job);
  const config = await ctx.settings();
  if (config instanceof RepoConfigError) return brokenSettings(ctx, job, config, log);
  const label = config.trigger.label;
  if (job.kind === "labeled" && job.label !== label) return ignored(`label "${job.label}" is not the trigger label "${label}"`);
  // the issue as it is now: a replayed or stale delivery finds the label gone (or the issue closed)
  const issue = await ctx.gh.issue(ctx.issue);
  if (issue.state !== "open" || !issue.labels.includes(label)) {
    const what = job.kind === "edited" ? "edit of an issue" : "label event on an issue";
    return ignored(`${what} that is ${issue.state === "open" ? `no longer labelled "${label}"` : "closed"}`);
  }
  const authority =
    job.kind === "edited" ? await editAuthority(ctx, job, issue, label, deps) : await labelAuthority(ctx, job, issue, label, deps);
  if ("outcome" in authority) return authority;
  log.info({ authorizedBy: authority.by, editedBy: authority.editedBy, kind: job.kind }, "the gate runs");
  const input = {
    deliveryId: job.deliveryId,
    installationId: job.installationId,
    repository: job.repository,
    issue: job.issue,
    edited: job.kind === "edited",
    retry: job.retry,
    authorizedBy: authority.by,
    ...(authority.labelEventId !== undefined && { labelEventId: authority.labelEventId }),
    ...(authority.seenAt && { seenAt: authority.seenAt }),
    issueData: issue,
    mayInstruct: async (login: string) => (await ctx.may(login, "write")).allowed,
  };
  return gateRun(ctx, input, config, { ...deps, enqueueRun: (target) => deps.enqueueRun(target, job.deliveryId) }, log);
}

const ignored = (detail: string): JobResult => ({ outcome: "ignored", detail });

interface Authority {
  by: string;
  /** A writer whose edit made the text after the act. */
  editedBy?: string;
  /** The label event a labelled run consumes. */
  labelEventId?: number;
  /** When the text was vouched for: later comments by people without write access are not read. */
  seenAt?: Date;
}

/** The subject under which "the issue changed after the label" is said once an hour. */
const CHANGED_NOTICE = ":text-changed";

/**
 * A label: its sender authorises the run if they have write access, added the label last (the
 * label event the run consumes) and saw the text the gate would read (or a writer's edit made
 * it since). Refused, they hear why (once an hour).
 */
async function labelAuthority(
  ctx: JobContext,
  job: TriggerJob,
  issue: IssueData,
  label: string,
  deps: JobDeps,
): Promise<Authority | JobResult> {
  const sender = job.sender.login;
  const access = await ctx.may(sender, "write");
  if (!access.allowed) {
    const answer = await deps.refusals.record({ repositoryId: job.repository.id, issueNumber: ctx.issue, subject: sender });
    if (answer) await ctx.gh.comment(ctx.issue, `${access.refusal("start Tollgate")} Ask a maintainer to add \`${label}\`.`);
    return ignored(`${sender} has ${access.permission} access${answer ? "" : " (already answered this hour)"}`);
  }
  const event = await ctx.gh.labelEvent(ctx.issue, label);
  if (!event) return ignored(`GitHub lists no event of "${label}" being added`);
  if (event.actor !== sender) return ignored(`"${label}" was added again since, by ${event.actor}: that label event decides`);
  const text = await vouchedText(ctx, deps.deliveries, issue, { login: sender, ...job.issue });
  if ("refused" in text) {
    const notice = { repositoryId: job.repository.id, issueNumber: ctx.issue, subject: CHANGED_NOTICE };
    if (await deps.refusals.record(notice))
      await ctx.gh.comment(
        ctx.issue,
        `Tollgate did not start from @${sender}'s \`${label}\`: ${text.refused}. A label vouches only for the text its sender saw. Someone with write access can add the label again, or comment \`/retry\`, once they have read the issue as it is now.`,
      );
    return ignored(`the text changed after the label: ${text.refused}`);
  }
  return { ...text, labelEventId: event.id };
}

/**
 * An edit: the run it may start is authorised by whoever added the trigger label, if they have
 * write access now, for a text made by an editor with write access (the job's own edit, or a
 * later one). Nothing is said to the editor (an edit is not a request).
 */
async function editAuthority(
  ctx: JobContext,
  job: TriggerJob,
  issue: IssueData,
  label: string,
  deps: JobDeps,
): Promise<Authority | JobResult> {
  const repositoryId = job.repository.id;
  const active = await deps.runs.active(repositoryId, ctx.issue);
  if (active) return ignored(`run ${active.id} is already active: it works from what its gate read`);
  const labeller = (await ctx.gh.labelEvent(ctx.issue, label))?.actor;
  if (!labeller) return ignored(`nobody is known to have added "${label}": an edit starts nothing`);
  const labellerAccess = await ctx.may(labeller, "write");
  if (!labellerAccess.allowed) return ignored(`"${label}" was added by ${labeller}, who has ${labellerAccess.permission} access now`);
  const text = await vouchedText(ctx, deps.deliveries, issue, { login: job.sender.login, ...job.issue });
  if ("refused" in text) return ignored(text.refused);
  const editor = text.editedBy ?? job.sender.login;
  const editorAccess = await ctx.may(editor, "write");
  if (!editorAccess.allowed)
    return ignored(`the edit is by ${editor}, who has ${editorAccess.permission} access: only writers' edits run the gate`);
  if ((await deps.runs.editGatesSince(repositoryId, ctx.issue, 3600)) >= EDIT_GATES_PER_HOUR) {
    const notice = { repositoryId, issueNumber: ctx.issue, subject: GATE_LIMIT_NOTICE };
    if (await deps.refusals.record(notice))
      await ctx.gh.comment(
        ctx.issue,
        `Tollgate checks an issue again after edits at most ${EDIT_GATES_PER_HOUR} times an hour, and this issue reached that: later edits are not checked until the hour is over. A maintainer can comment \`/retry\` to check it now.`,
      );
    return ignored(`edits already re-ran the gate ${EDIT_GATES_PER_HOUR} times in the last hour`);
  }
  return { by: labeller, editedBy: editor, ...(text.seenAt && { seenAt: text.seenAt }) };
}

/** An invalid settings file is reported on the issue (on the default label only: the configured one cannot be read); nothing is spent. */
async function brokenSettings(ctx: JobContext, job: TriggerJob, config: RepoConfigError, log: Logger): Promise<JobResult> {
  log.warn({ problems: config.problems }, config.message);
  if (job.label === DEFAULT_TRIGGER) await ctx.gh.upsertSticky(ctx.issue, renderConfigError(config.problems, REPO_CONFIG_PATH));
  return { outcome: "failed", detail: config.message };
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
