/**
 * A run's pipeline job (the run queue): everything after a ready gate, on GitHub.
 *   1. Load the run, the repo's settings and the issue; the gate's verdict from its checkpoint.
 *   2. Watch for a cancel; show progress in the sticky comment as phases start and end.
 *   3. Run the pipeline (src/pipeline/orchestrator.ts) against the payload's clone URL, with
 *      the installation token asked for before each git command.
 *   4. Record the outcome on the run and in the sticky comment (the PR link and the final cost).
 * A failure that retrying cannot fix (a model's unusable answers, an agent out of turns, a
 * refused request) ends the run `failed` with its reason on the issue. Anything else (a crash,
 * GitHub or the database unavailable) is thrown, so the queue retries the job, which resumes.
 */
import type { Logger } from "pino";
import { AgentLimitReached } from "../agents/loop.js";
import { commandsDisabled, type Sandbox } from "../sandbox/sandbox.js";
import { RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import type { Octokit } from "../github/issues.js";
import { GitHubPulls } from "../github/pulls.js";
import { phaseCosts, runsOfIssue } from "../ledger/cost-rows.js";
import { DeadlineExceededError, ModelCallError, RETRYABLE } from "../llm/errors.js";
import type { MeteredModel } from "../llm/metered-model.js";
import type { PriceBook } from "../llm/pricing.js";
import { issueText } from "../phases/gate/input.js";
import type { Verdict } from "../phases/gate/verdict.js";
import { ExecuteError } from "../phases/execute/execute.js";
import { PlanOutputError } from "../phases/plan/plan.js";
import { StructuredOutputError } from "../phases/structured.js";
import type { ReviewThread, RunJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { renderProgress } from "../report/progress.js";
import { neutralizeMarkdown } from "../safety/text.js";
import type { Identity } from "../workspace/workspace.js";
import { GitError } from "../workspace/workspace.js";
import { watchForCancel } from "./cancel-watch.js";
import { openIssue, repoSettings } from "./issue-context.js";
import { branchFor, runPipeline, type RunOutcome } from "./orchestrator.js";
import { PhaseRunner } from "./phase.js";
import { runReporter } from "./run-report.js";
import type { RunStatus, RunStore } from "./runs.js";

/** Who Tollgate's commits are by; a commit by anyone else on its branch stops a push. */
export const TOLLGATE_IDENTITY: Identity = { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" };

export interface CarryOutDeps {
  github: (installationId: number) => Promise<Octokit>;
  runs: RunStore;
  db: Database;
  model: (config: RepoConfig, log: Logger, runBudgetMicros: number | (() => number)) => MeteredModel;
  prices: PriceBook;
  sandbox: Sandbox;
  runsRoot: string;
  identity?: Identity;
  /** How often a running run looks for a cancel, in ms. */
  cancelPollMs?: number;
}

/** Failures a retry would only repeat (and pay for again). */
const FINAL = [StructuredOutputError, PlanOutputError, ExecuteError, AgentLimitReached, DeadlineExceededError, GitError] as const;
const isFinal = (error: unknown) => FINAL.some((E) => error instanceof E) || (error instanceof ModelCallError && !RETRYABLE.has(error.kind));

export async function carryOutRun(job: RunJob, deps: CarryOutDeps, log: Logger): Promise<JobResult> {
  const run = await deps.runs.get(job.runId);
  if (!run) return { outcome: "ignored", detail: `run ${job.runId} does not exist` };
  if (run.status !== "queued" && run.status !== "running") return { outcome: "ignored", detail: `run ${run.id} is ${run.status}` };
  const runLog = log.child({ run: run.id });
  const ctx = await openIssue(deps.github, job);
  const { octokit, gh, owner, repo, issue } = ctx;

  const config = await repoSettings(ctx);
  if (config instanceof RepoConfigError) {
    await gh.upsertSticky(issue, `### Tollgate stopped\n\nThe repo's settings became invalid after the gate, so the run stopped:\n\n${config.problems.map((p) => `- ${p}`).join("\n")}`);
    await deps.runs.setStatus(run.id, "failed", { error: config.message });
    return { outcome: "failed", detail: config.message };
  }
  await deps.runs.setStatus(run.id, "running");

  const [data, comments] = await Promise.all([gh.issue(issue), gh.comments(issue)]);
  const text = issueText(data, comments).text;
  let budgetMicros = run.budget_usd_micros ?? 0;
  const controller = new AbortController();
  const stopWatching = watchForCancel(deps.runs, run.id, controller, deps.cancelPollMs, (row) => {
    if (row.budget_usd_micros !== null && row.budget_usd_micros !== budgetMicros) {
      runLog.info({ from: budgetMicros, to: row.budget_usd_micros }, "the run's budget was changed");
      budgetMicros = row.budget_usd_micros;
    }
  });
  let gateLine: string | undefined;
  const disabled = commandsDisabled(deps.sandbox);
  const warnings = disabled ? [`> [!WARNING]`, `> **${disabled}.** The agents cannot run commands and the checks will not run, so the pull request will be a draft.`, ""] : [];
  const sticky = async (title: string, footer: string[] = []) => {
    const [records, costs] = await Promise.all([phases.phases(), phaseCosts(deps.db, run.id)]);
    await gh.upsertSticky(issue, renderProgress({ title, gate: gateLine, phases: records, costs, budgetMicros, footer: [...warnings, ...footer] }));
  };
  const phases: PhaseRunner = new PhaseRunner(deps.db, run.id, runLog, { signal: controller.signal, onChange: () => sticky("working on it") });
  const gate = await phases.checkpoint<{ verdict: Verdict }>("gate", 0);
  if (gate) gateLine = `Spec gate: ready ✅ (score ${gate.verdict.score}/100), ${gate.verdict.ticket_type}, size ${gate.verdict.size.toUpperCase()}.`;

  const pulls = new GitHubPulls(octokit, owner, repo);
  let outcome: RunOutcome;
  try {
    outcome = await runPipeline({
      env: { model: deps.model(config, runLog, () => budgetMicros), db: deps.db, config, sandbox: deps.sandbox, runId: run.id, installationId: job.installationId, signal: controller.signal, log: runLog },
      host: {
        source: { remoteUrl: job.repository.cloneUrl, branch: job.revise ? branchFor(issue) : job.repository.defaultBranch, token: async () => ((await octokit.auth({ type: "installation" })) as { token: string }).token },
        identity: deps.identity ?? TOLLGATE_IDENTITY,
        publish: async (pr) => {
          const opened = await pulls.upsert({ ...pr, base: job.repository.defaultBranch });
          await deps.runs.setPullRequest(run.id, opened.number);
          runLog.info({ pr: opened.number, created: opened.created, draft: opened.draft }, opened.created ? "pull request opened" : "pull request updated");
          return { url: opened.url, number: opened.number };
        },
      },
      phases,
      runsRoot: deps.runsRoot,
      issue: { number: issue, title: data.title, text },
      branch: branchFor(issue),
      fromHumanHead: job.fromHumanHead,
      ...(job.revise ? { revise: { feedback: reviewFeedback(job.revise.threads) } } : {}),
      report: runReporter({ db: deps.db, prices: deps.prices, config, runId: run.id, issueNumber: issue, issueRuns: () => runsOfIssue(deps.db, owner, repo, issue) }),
    });
  } catch (error) {
    if (!isFinal(error)) throw error; // retried by the queue: the run resumes from its checkpoints
    const message = error instanceof Error ? error.message : String(error);
    runLog.error({ err: error }, "the run failed");
    // the issue hears first: when that fails, the retried job says it again
    await sticky("stopped: the run failed", [`**Why:** ${message}`, "", "Remove and add the label again to start over."]);
    await deps.runs.setStatus(run.id, "failed", { error: message });
    return { outcome: "failed", detail: message };
  } finally {
    stopWatching();
  }

  const { status, detail, footer, title } = describe(outcome);
  if (job.revise) await answerThreads(pulls, (pr, body) => gh.comment(pr, body), job.revise, outcome, runLog);
  await sticky(title, footer);
  await deps.runs.setStatus(run.id, status, status === "failed" || status === "stopped" ? { error: detail } : {});
  return { outcome: status === "failed" ? "failed" : "done", detail };
}

function describe(outcome: RunOutcome): { status: RunStatus; title: string; detail: string; footer: string[] } {
  switch (outcome.status) {
    case "cancelled":
      return { status: "cancelled", title: "cancelled", detail: "cancelled", footer: ["The run was cancelled: no pull request was opened. What it spent is above."] };
    case "human_commits":
      return { status: "failed", title: "stopped: the branch has someone else's commits", detail: outcome.reason, footer: [`**Why:** ${outcome.reason}.`, "", "Tollgate never pushes over commits that are not its own."] };
    default:
      if (!("published" in outcome)) {
        return { status: "stopped", title: "stopped by the budget", detail: outcome.reason, footer: [`**Why:** ${outcome.reason}`, "", "Nothing was changed yet, so no pull request was opened."] };
      }
  }
  const pr = outcome.published.number ? `#${outcome.published.number}` : "the pull request";
  if (!outcome.draft) return { status: "succeeded", title: `pull request ${pr} is ready for review`, detail: `pull request ${pr}: checks and review passed`, footer: [`Pull request: ${pr}.`] };
  return {
    status: outcome.status === "budget" ? "stopped" : "draft",
    title: `draft pull request ${pr}`,
    detail: `draft pull request ${pr}: ${outcome.reason ?? outcome.status}`,
    footer: [`Draft pull request: ${pr}. **Why a draft:** ${outcome.reason ?? outcome.status}`],
  };
}

/** The review threads as the execution agent reads them: who asked, where, the diff around it, what. */
export function reviewFeedback(threads: ReviewThread[]): string {
  const lines = [
    "Review comments on the pull request. Address each one, or say why not. When you finish, answer each comment on a line of its own, as `#<number>: what you changed, or why not`: each answer is posted in its thread.",
  ];
  threads.forEach((t, i) => {
    const where = t.path ? ` on ${t.path}${t.line ? ` line ${t.line}` : " (a line that is no longer in the new version; its old context is below)"}` : " (the review's summary)";
    lines.push("", `${i + 1}. @${t.author}${where}:`);
    if (t.diffHunk) lines.push("```diff", t.diffHunk, "```");
    lines.push(t.body);
  });
  return lines.join("\n");
}

/** Answers in each review thread with what the revision did, or why it did not. */
async function answerThreads(
  pulls: GitHubPulls,
  conversation: (pr: number, body: string) => Promise<void>,
  revise: NonNullable<RunJob["revise"]>,
  outcome: RunOutcome,
  log: Logger,
): Promise<void> {
  const summary = "published" in outcome ? (outcome.state.execute?.units.map((u) => u.summary).join("\n") ?? "") : "";
  // the agent's own answer for thread n ("#n: …"), or its whole summary
  const answers = new Map([...summary.matchAll(/^\s*#(\d+):\s*(.+)$/gm)].map((m) => [Number(m[1]), m[2]!.trim()]));
  const prose = summary.replace(/^\s*#\d+:.*$/gm, "").replace(/\s+/g, " ").trim();
  for (const [i, thread] of revise.threads.entries()) {
    const answer = answers.get(i + 1) ?? prose;
    let text: string;
    if ("published" in outcome) {
      const commit = outcome.published.commit ? `in ${outcome.published.commit.slice(0, 7)}` : "with no change to the code";
      text = outcome.draft ? `Tried ${commit}, but ${outcome.reason ?? "the checks did not pass"} ${answer}` : `Done ${commit}: ${answer}`;
    } else {
      text = `Not done: ${outcome.reason}`;
    }
    text = neutralizeMarkdown(text); // the agent's words: no pings, no closing keywords, no images
    try {
      // a review's own text has no thread: its answer goes to the PR's conversation
      if (thread.commentId === undefined) await conversation(revise.pr, `@${thread.author}, on your review: ${text.trim()}`);
      else await pulls.reply(revise.pr, thread.commentId, text.trim());
    } catch (error) {
      log.warn({ err: error, comment: thread.commentId }, "could not answer in a review thread (deleted?)");
    }
  }
}
