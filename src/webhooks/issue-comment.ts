import type { Context } from "probot";
import { parseCommand } from "../commands/parse.js";
import type { Delivery } from "../stores/deliveries.js";
import type { EnqueueResult } from "../queue/intake-writer.js";
import type { CommandJob } from "../queue/jobs.js";
import { issueDelivery, jobIssue, jobRepository } from "./job-fields.js";
import { GITHUB_EVENT_AGE, tooOld, type EventAge } from "./replay.js";

export type EnqueueCommand = (delivery: Delivery, job: CommandJob) => Promise<EnqueueResult>;

/**
 * `issue_comment.created` on an issue or a pull request: a comment whose first line is a command
 * becomes a command job; any other comment is conversation and costs nothing (not even a row).
 * Bots, Tollgate included, are never obeyed, so two bots cannot drive each other in a loop.
 */
export function onIssueComment(enqueue: EnqueueCommand, age: EventAge = GITHUB_EVENT_AGE) {
  return async (context: Context<"issue_comment.created">): Promise<void> => {
    const { payload } = context;
    if (context.isBot || payload.sender.type === "Bot" || payload.comment.user?.type === "Bot") return;
    if (!payload.installation || !parseCommand(payload.comment.body)) return;
    if (tooOld(context, age)) return;
    const line = payload.comment.body.split(/\r?\n/, 1)[0]!.trim().slice(0, 500);
    const result = await enqueue(
      issueDelivery(context, payload.action, payload.installation.id, payload.repository, payload.sender.login),
      {
        deliveryId: context.id,
        installationId: payload.installation.id,
        repository: jobRepository(payload.repository),
        issue: { ...jobIssue(payload.issue, payload.comment.created_at), isPullRequest: Boolean(payload.issue.pull_request) },
        comment: { id: payload.comment.id, line },
        sender: { login: payload.sender.login, id: payload.sender.id },
      },
    );
    context.log.debug({ delivery: context.id, result }, "issue_comment.created");
  };
}
