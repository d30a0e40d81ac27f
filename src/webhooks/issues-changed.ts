import type { Context } from "probot";
import { issueDelivery, jobIssue, jobRepository } from "./job-fields.js";
import type { EnqueueTrigger } from "./issues-labeled.js";
import { GITHUB_EVENT_AGE, tooOld, type EventAge } from "./replay.js";

type Changed = "issues.edited" | "issues.unlabeled" | "issues.closed";

/**
 * `issues.edited` (the gate may run again while the trigger label is on), `issues.unlabeled` and
 * `issues.closed` (an active run is cancelled): guard, build the job, enqueue, return. The
 * worker decides, with the repo's settings, whether anything is to be done (for an edit: who
 * added the label, who edited, whether the issue waits for answers; src/jobs/trigger.ts).
 */
export function onIssueChanged(enqueue: EnqueueTrigger, age: EventAge = GITHUB_EVENT_AGE) {
  return async (context: Context<Changed>): Promise<void> => {
    const { payload } = context;
    if (!payload.installation || payload.issue.pull_request) return;
    const kind = payload.action;
    // Bots never re-run a gate; a bot removing the label or closing the issue still cancels.
    if (kind === "edited" && (context.isBot || payload.issue.labels?.length === 0)) return;
    if (kind === "edited" && !("body" in (payload.changes ?? {})) && !("title" in (payload.changes ?? {}))) return;
    if (tooOld(context, age)) return;
    const repository = payload.repository;
    const issue = jobIssue(payload.issue);
    const edit = kind === "edited" ? { issueNumber: issue.number, textSha256: issue.textSha256 } : undefined;
    await enqueue(issueDelivery(context, kind, payload.installation.id, repository, payload.sender.login, edit), {
      deliveryId: context.id,
      kind,
      installationId: payload.installation.id,
      repository: jobRepository(repository),
      issue,
      label: kind === "unlabeled" ? (payload as { label?: { name: string } }).label?.name : undefined,
      sender: { login: payload.sender.login, id: payload.sender.id },
    });
  };
}
