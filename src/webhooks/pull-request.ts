import type { Context } from "probot";
import type { Delivery } from "../stores/deliveries.js";
import type { EnqueueResult } from "../queue/intake-writer.js";
import type { ReviseJob } from "../queue/jobs.js";
import { issueDelivery, jobRepository } from "./job-fields.js";
import { GITHUB_EVENT_AGE, tooOld, type EventAge } from "./replay.js";

export type EnqueueRevise = (delivery: Delivery, job: ReviseJob) => Promise<EnqueueResult>;

/** Tollgate's branches; a PR from anywhere else (a fork, another branch) is not Tollgate's. */
const OURS = /^tollgate\/issue-\d+(-\d+)?$/;

interface PullPayload {
  number: number;
  head: { ref: string; repo: { id: number } | null };
  merged?: boolean | null;
}

function ours(pr: PullPayload, repositoryId: number): boolean {
  return OURS.test(pr.head.ref) && pr.head.repo?.id === repositoryId;
}

/**
 * `pull_request_review.submitted` (changes requested, or comments) and
 * `pull_request_review_comment.created` on Tollgate's PRs: a revision job per PR, waiting for the
 * reviewer to finish (a review with ten comments is one revision). The worker decides who may
 * start one. `pull_request.closed`: the PR's revision stops, and a merge is recorded.
 */
export function onPullRequestActivity(enqueue: EnqueueRevise, age: EventAge = GITHUB_EVENT_AGE) {
  return async (
    context: Context<"pull_request_review.submitted" | "pull_request_review_comment.created" | "pull_request.closed">,
  ): Promise<void> => {
    const { payload } = context;
    if (context.isBot || payload.sender.type === "Bot" || !payload.installation) return;
    const pr = payload.pull_request as PullPayload;
    if (!ours(pr, payload.repository.id)) return; // a PR Tollgate did not open
    if (context.name === "pull_request_review") {
      const state = (payload as { review: { state: string } }).review.state.toLowerCase();
      if (state !== "changes_requested" && state !== "commented") return; // approvals need no revision
    }
    if (tooOld(context, age)) return;
    const kind = context.name === "pull_request" ? "closed" : "review";
    const result = await enqueue(
      issueDelivery(context, payload.action, payload.installation.id, payload.repository, payload.sender.login),
      {
        deliveryId: context.id,
        kind,
        installationId: payload.installation.id,
        repository: jobRepository(payload.repository),
        pr: { number: pr.number, headRef: pr.head.ref, merged: Boolean(pr.merged) },
        sender: { login: payload.sender.login, id: payload.sender.id },
      },
    );
    context.log.debug({ delivery: context.id, result }, `${context.name}.${payload.action}`);
  };
}
