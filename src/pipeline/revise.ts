/**
 * Reviews on Tollgate's pull requests, in the worker.
 *   - `review`: once the reviews have been quiet for `revise.quiet_seconds`, the threads whose
 *     last word is a reviewer's (with write access) become a `revise` run of the PR's issue: it
 *     reuses the issue's gate and plan, executes with the comments as feedback on the PR's
 *     branch, verifies, reviews, pushes a new commit and answers in each thread
 *     (src/pipeline/carry-out.ts).
 *   - `closed`: the PR's active revision stops; a merge or a close is recorded on the runs.
 */
import type { Logger } from "pino";
import { RepoConfigError } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import type { Octokit } from "../github/issues.js";
import { GitHubPulls, type ReviewComment } from "../github/pulls.js";
import type { ReviewThread, ReviseJob, RunJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { queueFollowUpRun } from "./follow-up.js";
import { openIssue, repoSettings } from "./issue-context.js";
import type { RunStore } from "./runs.js";
import { cancelActiveRun } from "./start-run.js";

export interface ReviseDeps {
  github: (installationId: number) => Promise<Octokit>;
  runs: RunStore;
  db: Database;
  enqueueRun: (job: RunJob) => Promise<void>;
  /** Sends the revision job again, to start after `seconds`. */
  later: (job: ReviseJob, seconds: number) => Promise<void>;
  now?: () => number;
}

const WRITERS = new Set(["admin", "maintain", "write"]);

export async function handleRevise(job: ReviseJob, deps: ReviseDeps, log: Logger): Promise<JobResult> {
  const issue = await deps.runs.issueOfPullRequest(job.repository.id, job.pr.number);
  if (issue === undefined) return { outcome: "ignored", detail: `pull request #${job.pr.number} has no Tollgate run` };
  const ctx = await openIssue(deps.github, { ...job, issue: { number: issue } });
  const active = await deps.runs.active(job.repository.id, issue);

  if (job.kind === "closed") {
    const state = job.pr.merged ? "merged" : "closed";
    const runs = await deps.runs.setPullRequestState(job.repository.id, job.pr.number, state);
    if (active?.kind === "revise") await cancelActiveRun(ctx, deps, active.id, `pull request #${job.pr.number} was ${state}`, "");
    log.info({ pr: job.pr.number, state, runs }, `pull request ${state}`);
    return { outcome: "done", detail: `pull request #${job.pr.number} ${state}${active?.kind === "revise" ? "; its revision was cancelled" : ""}` };
  }

  const config = await repoSettings(ctx);
  if (config instanceof RepoConfigError) return { outcome: "failed", detail: config.message };
  const pulls = new GitHubPulls(ctx.octokit, ctx.owner, ctx.repo);
  const [comments, reviews] = await Promise.all([pulls.reviewComments(job.pr.number), pulls.reviews(job.pr.number)]);

  // wait for the reviewer to finish
  const human = [...comments.filter((c) => !c.authorIsBot).map((c) => c.createdAt), ...reviews.filter((r) => !r.authorIsBot && r.submittedAt).map((r) => r.submittedAt!)];
  const newest = Math.max(0, ...human.map((t) => Date.parse(t)));
  const quietFor = ((deps.now ?? Date.now)() - newest) / 1000;
  if (quietFor < config.revise.quiet_seconds) {
    const wait = Math.ceil(config.revise.quiet_seconds - quietFor);
    await deps.later(job, wait);
    return { outcome: "done", detail: `the review is still going on: the revision waits ${wait} s` };
  }
  if (active) {
    await deps.later(job, Math.max(60, config.revise.quiet_seconds));
    return { outcome: "done", detail: `run ${active.id} is active: the revision waits for it` };
  }

  // what is unanswered, from people who may ask
  const since = (await deps.runs.latest(job.repository.id, issue))?.created_at ?? new Date(0);
  const permissions = new Map<string, string>();
  const mayAsk = async (login: string) => {
    if (!permissions.has(login)) permissions.set(login, await ctx.gh.permission(login));
    return WRITERS.has(permissions.get(login)!);
  };
  const threads: ReviewThread[] = [];
  for (const thread of pendingThreads(comments)) {
    const asks = [];
    for (const c of thread.asks) if (await mayAsk(c.author)) asks.push(c);
    if (!asks.length) continue;
    const root = thread.root;
    threads.push({ commentId: root.id, author: asks.map((c) => c.author).join(", "), path: root.path, line: root.line, diffHunk: root.diffHunk.split("\n").slice(-12).join("\n"), body: asks.map((c) => c.body).join("\n\n") });
  }
  for (const review of reviews) {
    if (review.authorIsBot || !review.body.trim() || !review.submittedAt || new Date(review.submittedAt) <= since) continue;
    if (!["CHANGES_REQUESTED", "COMMENTED"].includes(review.state) || !(await mayAsk(review.author))) continue;
    threads.push({ author: review.author, body: review.body });
  }
  if (!threads.length) return { outcome: "ignored", detail: "no review comment from someone with write access is waiting for an answer" };

  // a revise run that reuses the issue's gate and plan
  const planned = await deps.runs.lastWithPhase(job.repository.id, issue, "plan");
  if (!planned) return { outcome: "ignored", detail: "the issue has no plan to revise from" };
  const runId = await queueFollowUpRun({ runs: deps.runs, enqueueRun: deps.enqueueRun, ctx, job, config, previous: planned, reuse: ["gate", "plan"], kind: "revise", revise: { pr: job.pr.number, threads } });
  const run = { id: runId };
  log.info({ run: run.id, pr: job.pr.number, threads: threads.length }, "revision queued");
  return { outcome: "done", detail: `revision run ${run.id} for ${threads.length} thread(s)` };
}

/** Review threads whose last word is not Tollgate's: their root, and the comments since its last answer. */
export function pendingThreads(comments: ReviewComment[]): Array<{ root: ReviewComment; asks: ReviewComment[] }> {
  const byRoot = new Map<number, ReviewComment[]>();
  for (const c of comments) {
    const root = c.inReplyTo ?? c.id;
    byRoot.set(root, [...(byRoot.get(root) ?? []), c]);
  }
  const out: Array<{ root: ReviewComment; asks: ReviewComment[] }> = [];
  for (const [rootId, list] of byRoot) {
    const root = list.find((c) => c.id === rootId);
    if (!root) continue; // the thread's first comment was deleted
    const lastAnswer = list.map((c) => c.authorIsBot).lastIndexOf(true);
    const asks = list.slice(lastAnswer + 1).filter((c) => !c.authorIsBot);
    if (asks.length) out.push({ root, asks });
  }
  return out;
}
