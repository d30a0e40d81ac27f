/**
 * Review threads on Tollgate's pull requests: which are waiting for an answer, how the
 * execution agent reads them (by id: T1, T2, …), and the answer posted in each once a revision ends.
 */
import type { Logger } from "pino";
import { neutralizeMarkdown } from "../safety/markdown.js";
import type { RunOutcome } from "./orchestrator.js";
import type { ReviewThread, RunTarget } from "./run-target.js";
import { parseThreadAnswers, threadId, threadsLine } from "../phases/execute/thread-answers.js";

/** What threading reads of a review comment (the GitHub port's `ReviewComment`, src/github/pulls.ts, has it). */
export interface ThreadComment {
  id: number;
  inReplyTo: number | null;
  authorIsBot: boolean;
  /** Written by Tollgate; absent, a bot's comment counts as Tollgate's. */
  mine?: boolean;
}

/** Where an answer in a review thread goes (the GitHub port's `GitHubPulls` does this). */
export interface ThreadReplies {
  reply(pr: number, commentId: number, body: string): Promise<void>;
}

/**
 * Review threads whose last word is not Tollgate's: their root, and the comments since its last
 * answer. Only Tollgate's own replies answer; another bot's comment is neither an answer nor an ask.
 */
export function pendingThreads<C extends ThreadComment>(comments: C[]): Array<{ root: C; asks: C[] }> {
  const mine = (c: C) => c.mine ?? c.authorIsBot;
  const byRoot = new Map<number, C[]>();
  for (const c of comments) {
    const root = c.inReplyTo ?? c.id;
    byRoot.set(root, [...(byRoot.get(root) ?? []), c]);
  }
  const out: Array<{ root: C; asks: C[] }> = [];
  for (const [rootId, list] of byRoot) {
    const root = list.find((c) => c.id === rootId);
    if (!root) continue; // the thread's first comment was deleted
    const lastAnswer = list.map(mine).lastIndexOf(true);
    const asks = list.slice(lastAnswer + 1).filter((c) => !c.authorIsBot);
    if (asks.length) out.push({ root, asks });
  }
  return out;
}

/**
 * The review threads as the execution agent reads them: who asked, where, the diff around it,
 * what. Each has an id (T1, T2, …) that the agent answers by in `finish_unit`; the line naming
 * the ids comes before any reviewer's text, so a comment cannot add a thread.
 */
export function reviewFeedback(threads: ReviewThread[]): string {
  const lines = [
    "Review comments on the pull request. Address each one, or decline it with a reason; each answer is posted in its thread.",
    threadsLine(threads.length),
  ];
  threads.forEach((t, i) => {
    const where = t.path
      ? ` on ${t.path}${t.line ? ` line ${t.line}` : " (a line that is no longer in the new version; its old context is below)"}`
      : " (the review's summary)";
    lines.push("", `${threadId(i)}. @${t.author}${where}:`);
    if (t.diffHunk) lines.push("```diff", t.diffHunk, "```");
    lines.push(t.body);
  });
  return lines.join("\n");
}

/**
 * The answer for each thread: the unit's own (finish_unit's `answers`, by thread id); for a unit
 * that did not finish, what its last words say about the thread (`#1: …`, `- **Comment 1:** …`,
 * …); or else its whole summary. With the outcome: the commit, or why it is a draft.
 */
export function threadAnswers(threads: ReviewThread[], outcome: RunOutcome): string[] {
  const units = "published" in outcome ? (outcome.state.execute?.units ?? []) : [];
  const byId = new Map(units.flatMap((u) => u.answers ?? []).map((a) => [a.thread, a]));
  const parsed = parseThreadAnswers(units.map((u) => u.summary).join("\n"));
  return threads.map((_, i) => {
    if (!("published" in outcome)) return neutralizeMarkdown(`Not done: ${outcome.reason}`).trim();
    const given = byId.get(threadId(i));
    if (given?.status === "declined") return neutralizeMarkdown(`Not changed: ${given.answer}`).trim();
    const answer = given?.answer ?? parsed.answers.get(i + 1) ?? parsed.rest;
    const commit = outcome.published.commit ? `in ${outcome.published.commit.slice(0, 7)}` : "with no change to the code";
    // an agent that answered other threads but not this one said nothing about it: no empty "Done …:"
    const said = answer || "the agent said nothing about this comment in particular; the diff shows what changed.";
    const text = outcome.draft ? `Tried ${commit}, but ${outcome.reason ?? "the checks did not pass"} ${said}` : `Done ${commit}: ${said}`;
    return neutralizeMarkdown(text).trim(); // the agent's words: no pings, no closing keywords, no images
  });
}

/** Answers in each review thread with what the revision did, or why it did not. */
export async function answerThreads(
  pulls: ThreadReplies,
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
