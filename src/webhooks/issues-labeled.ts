import type { Context } from "probot";
import { issueDelivery, jobIssue, jobRepository } from "./job-fields.js";
import { GITHUB_EVENT_AGE, tooOld, type EventAge } from "./replay.js";
import type { Delivery } from "../stores/deliveries.js";
import type { EnqueueResult } from "../queue/intake-writer.js";
import type { TriggerJob } from "../queue/jobs.js";

export type EnqueueTrigger = (delivery: Delivery, job: TriggerJob) => Promise<EnqueueResult>;

/**
 * `issues.labeled`: guard, turn the payload into a typed trigger job, enqueue, return. No API
 * call happens here, so GitHub gets its answer in milliseconds: the worker reads the repo's
 * settings and decides whether the label is its trigger label (authorizing the sender arrives
 * with the spec gate).
 */
export function onIssuesLabeled(enqueue: EnqueueTrigger, age: EventAge = GITHUB_EVENT_AGE) {
  return async (context: Context<"issues.labeled">): Promise<void> => {
    const { payload } = context;
    if (context.isBot) return; // bots, Tollgate included, never start a run
    if (!payload.installation || !payload.label || payload.issue.pull_request) return;
    if (tooOld(context, age)) return;
    const repository = payload.repository;
    const result = await enqueue(issueDelivery(context, payload.action, payload.installation.id, repository, payload.sender.login), {
      deliveryId: context.id,
      kind: "labeled",
      installationId: payload.installation.id,
      repository: jobRepository(repository),
      issue: jobIssue(payload.issue),
      label: payload.label.name,
      sender: { login: payload.sender.login, id: payload.sender.id },
    });
    context.log.debug({ delivery: context.id, result }, "issues.labeled");
  };
}
