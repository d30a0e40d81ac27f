/**
 * Review threads on Tollgate's pull requests: which are waiting for an answer, how the
 * execution agent reads them, and the answer posted in each once a revision ends.
 */
import type { Logger } from "pino";
import type { GitHubPulls, ReviewComment } from "../github/pulls.js";
import { neutralizeMarkdown } from "../safety/markdown.js";
import type { RunOutcome } from "./orchestrator.js";
import type { ReviewThread, RunTarget } from "./run-target.js";

/**
 * Review threads whose last word is not Tollgate's: their root, and the comments since its last
 * answer. Only Tollgate's own replies answer; another bot's comment is neither an answer nor an ask.
 */
export function pendingThreads(comments: ReviewComment[]): Array<{ root: ReviewComment; asks: ReviewComment[] }> {
  const mine = (c: ReviewComment) => c.mine ?? c.authorIsBot;
  const byRoot = new Map<number, ReviewComment[]>();
  for (const c of comments) {
    const root = c.inReplyTo ?? c.id;
    byRoot.set(root, [...(byRoot.get(root) ?? []), c]);
  }
  const out: Array<{ root: ReviewComment; asks: ReviewComment[] }> = [];
  for (const [rootId, list] of byRoot) {
    const root = list.find((c) => c.id === rootId);
    if (!root) continue; // the thread's first comment was deleted
    const lastAnswer = list.map(mine).lastIndexOf(true);
    const asks = list.slice(lastAnswer + 1).filter((c) => !c.authorIsBot);
    if (asks.length) out.push({ root, asks });
  }
  return out;
}

/** The review threads as the execution agent reads them: who asked, where, the diff around it, what. */
export function reviewFeedback(threads: ReviewThread[]): string {
  const lines = [
    "Review comments on the pull request. Address each one, or say why not. When you finish, answer each comment on a line of its own, as `#<number>: what you changed, or why not`: each answer is posted in its thread.",
  ];
  threads.forEach((t, i) => {
    const where = t.path
      ? ` on ${t.path}${t.line ? ` line ${t.line}` : " (a line that is no longer in the new version; its old context is below)"}`
      : " (the review's summary)";
    lines.push("", `${i + 1}. @${t.author}${where}:`);
    if (t.diffHunk) lines.push("```diff", t.diffHunk, "```");
    lines.push(t.body);
  });
  return lines.join("\n");
}

/** The answer for each thread: the agent's own (`#n: …`), or else its whole summary, with the outcome. */
export function threadAnswers(threads: ReviewThread[], outcome: RunOutcome): string[] {
  const summary = "published" in outcome ? (outcome.state.execute?.units.map((u) => u.summary).join("\n") ?? "") : "";
  const answers = new Map([...summary.matchAll(/^\s*#(\d+):\s*(.+)$/gm)].map((m) => [Number(m[1]), m[2]!.trim()]));
  const prose = summary
    .replace(/^\s*#\d+:.*$/gm, "")
    .replace(/\s+/g, " ")
    .trim();
  return threads.map((_, i) => {
    const answer = answers.get(i + 1) ?? prose;
    if (!("published" in outcome)) return neutralizeMarkdown(`Not done: ${outcome.reason}`).trim();
    const commit = outcome.published.commit ? `in ${outcome.published.commit.slice(0, 7)}` : "with no change to the code";
    // an agent that answered other threads but not this one said nothing about it: no empty "Done …:"
    const said = answer || "the agent said nothing about this comment in particular; the diff shows what changed.";
    const text = outcome.draft ? `Tried ${commit}, but ${outcome.reason ?? "the checks did not pass"} ${said}` : `Done ${commit}: ${said}`;
    return neutralizeMarkdown(text).trim(); // the agent's words: no pings, no closing keywords, no images
  });
}

/** Answers in each review thread with what the revision did, or why it did not. */
export async function answerThreads(
  pulls: GitHubPulls,
  conversation: (pr: number, body: string) => Promise<void>,
  revise: NonNullable<RunTarget["revise"]>,
  outcome: RunOutcome,
  log: Logger,
): Promise<void> {
  const answers = threadAnswers(revise.threads, outcome);
  for (const [i, thread] of revise.threads.entries()) {
    try {
      // a review's own text has no thread: its answer goes to the PR's conversation
      if (thread.commentId === undefined) await conversation(revise.pr, `@${thread.author}, on your review: ${answers[i]}`);
      else await pulls.reply(revise.pr, thread.commentId, answers[i]!);
    } catch (error) {
      log.warn({ err: error, comment: thread.commentId }, "could not answer in a review thread (deleted?)");
    }
  }
}
