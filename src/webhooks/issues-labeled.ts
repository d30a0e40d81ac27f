import type { Context } from "probot";
import type { EnqueueResult } from "../queue/enqueue.js";
import type { TriggerJob } from "../queue/jobs.js";

export type EnqueueTrigger = (job: TriggerJob, event: { action: string; sender: string }) => Promise<EnqueueResult>;

/**
 * `issues.labeled`: guard, turn the payload into a typed trigger job, enqueue, return. Whether
 * the label is this repo's trigger label and whether the sender may trigger is decided by the
 * worker, so GitHub gets its answer in milliseconds and no API call happens here.
 */
export function onIssuesLabeled(enqueue: EnqueueTrigger) {
  return async (context: Context<"issues.labeled">): Promise<void> => {
    const { payload } = context;
    if (context.isBot) return; // bots, Tollgate included, never start a run
    if (!payload.installation || !payload.label || payload.issue.pull_request) return;
    const result = await enqueue(
      {
        deliveryId: context.id,
        installationId: payload.installation.id,
        repository: {
          id: payload.repository.id,
          owner: payload.repository.owner.login,
          name: payload.repository.name,
          cloneUrl: payload.repository.clone_url,
          defaultBranch: payload.repository.default_branch,
        },
        issue: { number: payload.issue.number, title: payload.issue.title },
        label: payload.label.name,
        sender: { login: payload.sender.login, id: payload.sender.id },
      },
      { action: payload.action, sender: payload.sender.login },
    );
    context.log.debug({ delivery: context.id, result }, "issues.labeled");
  };
}
