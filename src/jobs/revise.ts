/**
 * The revise queue: reviews on Tollgate's pull requests, and the PR closed.
 *   - `review`: once the reviews have been quiet for `revise.quiet_seconds`, the threads whose
 *     last word is a reviewer's (with write access) become a `revise` run of the PR's issue: it
 *     reuses the issue's gate and plan, executes with the comments as feedback on the PR's
 *     branch, verifies, reviews, pushes a new commit and answers in each thread.
 *   - `closed`: the PR's active revision stops; a merge or a close is recorded on the runs.
 * Review text reaches the agent through the same sanitizer as issue text (src/safety/sanitize.ts).
 */
import type { Logger } from "pino";
import { RepoConfigError } from "../config/repo-config.js";
import { GitHubPulls, type Review, type ReviewComment } from "../github/pulls.js";
import { sanitize } from "../safety/sanitize.js";
import { cancelActiveRun } from "../pipeline/cancel.js";
import { queueFollowUpRun } from "../pipeline/follow-up.js";
import { PHASE } from "../phases/registry.js";
import { pendingThreads } from "../pipeline/review-threads.js";
import type { ReviewThread } from "../pipeline/run-target.js";
import type { ReviseJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import type { RunRow } from "../stores/runs.js";
import { JobContext } from "./context.js";
import { jobIdForRun } from "../queue/job-id.js";
import { queuedText } from "../report/gate-comment.js";
import type { JobDeps } from "./deps.js";

export async function handleRevise(job: ReviseJob, deps: JobDeps & { now?: () => number }, log: Logger): Promise<JobResult> {
  const issue = await deps.runs.issueOfPullRequest(job.repository.id, job.pr.number);
  if (issue === undefined) return { outcome: "ignored", detail: `pull request #${job.pr.number} has no Tollgate run` };
  const ctx = await JobContext.open(deps.github, { ...job, issue: { number: issue } });
  const active = await deps.runs.active(job.repository.id, issue);
  if (job.kind === "closed") return closed(ctx, job, active, deps, log);

  const config = await ctx.settings();
  if (config instanceof RepoConfigError) return { outcome: "failed", detail: config.message };
  const pulls = new GitHubPulls(ctx.octokit, ctx.owner, ctx.repo);
  const [comments, reviews] = await Promise.all([pulls.reviewComments(job.pr.number), pulls.reviews(job.pr.number)]);

  // wait for the reviewers to finish (only words that can ask for a revision count, and not for
  // ever), and for the issue's active run to end
  const since = (await deps.runs.latest(job.repository.id, issue))?.created_at ?? new Date(0);
  const words = await writersWords(ctx, comments, reviews, since);
  const wait = revisionWait(words, (deps.now ?? Date.now)(), config.revise.quiet_seconds);
  if (wait > 0) {
    await deps.reviseLater(job, wait);
    return { outcome: "done", detail: `the review is still going on: the revision waits ${wait} s` };
  }
  if (active) {
    await deps.reviseLater(job, Math.max(60, config.revise.quiet_seconds));
    return { outcome: "done", detail: `run ${active.id} is active: the revision waits for it` };
  }

  const threads = await unanswered(ctx, comments, reviews, since);
  if (!threads.length) return { outcome: "ignored", detail: "no review comment from someone with write access is waiting for an answer" };

  // a revise run that reuses the issue's gate and plan
  const planned = await deps.runs.lastWithPhase(job.repository.id, issue, PHASE.plan);
  if (!planned) return { outcome: "ignored", detail: "the issue has no plan to revise from" };
  const started = await queueFollowUpRun({
    runs: deps.runs,
    enqueueRun: (target) => deps.enqueueRun(target, job.deliveryId),
    ctx,
    cause: job,
    config,
    previous: planned,
    reuse: [PHASE.gate, PHASE.plan],
    kind: "revise",
    authorizedBy: [...new Set(threads.flatMap((t) => t.author.split(", ")))].join(", "),
    revise: { pr: job.pr.number, branch: job.pr.headRef, threads },
  });
  if ("active" in started) {
    // a run started meanwhile: it is left alone, and the revision waits for it
    await deps.reviseLater(job, Math.max(60, config.revise.quiet_seconds));
    return { outcome: "done", detail: `run ${started.active.id} is active: the revision waits for it` };
  }
  const runId = started.queued;
  log.info({ run: runId, pr: job.pr.number, threads: threads.length }, "revision queued");
  // behind other runs, the reviewers hear it where they wrote: the issue's sticky comment only changes once it starts
  const ahead = await deps.queueInfo.runsAhead(jobIdForRun(runId));
  if (ahead)
    await ctx.gh
      .comment(
        job.pr.number,
        `### Tollgate: revision ${queuedText(ahead)}\n\nThe revision for ${threads.length === 1 ? "1 review thread" : `${threads.length} review threads`} starts when a worker is free; \`/status\` on the issue says where it is meanwhile.`,
      )
      .catch((error: unknown) =>
        log.warn({ err: error, pr: job.pr.number }, "the revision is queued, but saying so on the pull request failed"),
      );
  return { outcome: "done", detail: `revision run ${runId} for ${threads.length} thread(s)` };
}

async function closed(ctx: JobContext, job: ReviseJob, active: RunRow | undefined, deps: JobDeps, log: Logger): Promise<JobResult> {
  const state = job.pr.merged ? "merged" : "closed";
  const runs = await deps.runs.setPullRequestState(job.repository.id, job.pr.number, state);
  if (active?.kind === "revise") await cancelActiveRun(ctx, deps, active.id, `pull request #${job.pr.number} was ${state}`, "");
  log.info({ pr: job.pr.number, state, runs }, `pull request ${state}`);
  return {
    outcome: "done",
    detail: `pull request #${job.pr.number} ${state}${active?.kind === "revise" ? "; its revision was cancelled" : ""}`,
  };
}

/**
 * A revision starts at most this many quiet periods after the first word that asked for it: a
 * reviewer who keeps commenting delays it, but not for ever.
 */
export const MAX_WAIT_QUIET_PERIODS = 3;

/**
 * When people with write access commented or reviewed since the issue's last run (ms since the
 * epoch). Only their words can ask for a revision, so only they make it wait: a reader commenting
 * every minute postpones nothing.
 */
async function writersWords(ctx: JobContext, comments: ReviewComment[], reviews: Review[], since: Date): Promise<number[]> {
  const words = [
    ...comments.filter((c) => !c.authorIsBot).map((c) => ({ author: c.author, at: Date.parse(c.createdAt) })),
    ...reviews.filter((r) => !r.authorIsBot && r.submittedAt).map((r) => ({ author: r.author, at: Date.parse(r.submittedAt!) })),
  ].filter((w) => w.at > since.getTime());
  const times: number[] = [];
  for (const w of words) if ((await ctx.may(w.author, "write")).allowed) times.push(w.at);
  return times;
}

/**
 * How many seconds the revision still waits: until the words have been quiet for `quiet` seconds,
 * and no longer than MAX_WAIT_QUIET_PERIODS quiet periods after the first of them. 0: it starts.
 */
export function revisionWait(words: number[], now: number, quiet: number): number {
  if (!words.length) return 0;
  const quietFor = (now - Math.max(...words)) / 1000;
  const left = Math.min(quiet - quietFor, MAX_WAIT_QUIET_PERIODS * quiet - (now - Math.min(...words)) / 1000);
  return left > 0 ? Math.ceil(left) : 0;
}

/** Review text as the agent reads it: sanitized like issue text (hidden text removed, secrets masked). */
const clean = (body: string) => sanitize(body).text;

/** The threads and review bodies waiting for an answer, from people with write access. */
async function unanswered(ctx: JobContext, comments: ReviewComment[], reviews: Review[], since: Date): Promise<ReviewThread[]> {
  const mayAsk = async (login: string) => (await ctx.may(login, "write")).allowed;
  const threads: ReviewThread[] = [];
  for (const thread of pendingThreads(comments)) {
    const asks = [];
    for (const c of thread.asks) if (await mayAsk(c.author)) asks.push(c);
    if (!asks.length) continue;
    const root = thread.root;
    threads.push({
      commentId: root.id,
      author: asks.map((c) => c.author).join(", "),
      path: root.path,
      line: root.line,
      diffHunk: root.diffHunk.split("\n").slice(-12).join("\n"),
      body: asks.map((c) => clean(c.body)).join("\n\n"),
    });
  }
  for (const review of reviews) {
    if (review.authorIsBot || !clean(review.body).trim() || !review.submittedAt || new Date(review.submittedAt) <= since) continue;
    if (!["CHANGES_REQUESTED", "COMMENTED"].includes(review.state) || !(await mayAsk(review.author))) continue;
    threads.push({ author: review.author, body: clean(review.body) });
  }
  return threads;
}
