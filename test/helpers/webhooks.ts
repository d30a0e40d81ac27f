/** Real webhook payloads from @octokit/webhooks-examples, made ready for an installed app. */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are read and changed freely
export type Payload = Record<string, any>;
const examples = require("@octokit/webhooks-examples") as Array<{ name: string; examples: Payload[] }>;

export const INSTALLATION_ID = 2_403_701;

/** A deep copy of example `index` of `event.action`, with `installation` added (most lack it). */
export function webhookExample(event: string, action: string, index = 0): Payload {
  const found = examples.find((e) => e.name === event)?.examples.filter((x) => x.action === action) ?? [];
  const example = found[index];
  if (!example) throw new Error(`no example ${index} for ${event}.${action} (there are ${found.length})`);
  const payload = structuredClone(example);
  payload.installation ??= { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMjQwMzcwMQ==" };
  return happenedNow(payload);
}

let lastStamp = 0;

/**
 * The example's event times set to now (Tollgate drops events older than GitHub keeps deliveries:
 * src/webhooks/replay.ts), a millisecond apart at least from the previous example's: each example
 * is a new event, whose signed body differs from every other's, as GitHub's do.
 */
export function happenedNow(payload: Payload, at = Date.now()): Payload {
  lastStamp = Math.max(at, lastStamp + 1);
  const now = new Date(lastStamp).toISOString();
  for (const [object, fields] of [
    ["issue", ["updated_at"]],
    ["comment", ["created_at", "updated_at"]],
    ["review", ["submitted_at"]],
    ["pull_request", ["updated_at", "closed_at"]],
  ] as const) {
    const o = payload[object];
    if (o) for (const field of fields) if (typeof o[field] === "string") o[field] = now;
  }
  return payload;
}

/**
 * `issues.labeled` with the given label and sender kind; with `issue`, the issue's text as its
 * sender saw it (Tollgate gates only the text the labeller saw: src/pipeline/text-authority.ts).
 */
export function issuesLabeled(label = "ai-ready", sender: "User" | "Bot" = "User", issue?: { title: string; body: string }): Payload {
  const payload = webhookExample("issues", "labeled");
  payload.label = { ...payload.label, name: label };
  if (issue) payload.issue = { ...payload.issue, title: issue.title, body: issue.body };
  if (sender === "Bot") {
    payload.sender = { ...payload.sender, login: "tollgate[bot]", type: "Bot" };
  }
  return payload;
}

/** `issues.edited` of the example issue, its body changed (to `issue`'s text, if given), with the given labels on it. */
export function issuesEdited(labels: string[], sender: "User" | "Bot" = "User", issue?: { title: string; body: string }): Payload {
  const payload = webhookExample("issues", "edited");
  payload.changes = { body: { from: "the old body" } };
  payload.issue = { ...payload.issue, labels: labels.map((name, i) => ({ id: i + 1, name, color: "ededed", default: false })) };
  if (issue) Object.assign(payload.issue, { title: issue.title, body: issue.body });
  if (sender === "Bot") payload.sender = { ...payload.sender, login: "tollgate[bot]", type: "Bot" };
  return payload;
}

/** `issues.unlabeled` (the given label removed) or `issues.closed` of the example issue. */
export function issuesUnlabeled(label: string): Payload {
  const payload = webhookExample("issues", "unlabeled");
  payload.label = { ...payload.label, name: label };
  return payload;
}

export function issuesClosed(): Payload {
  const payload = webhookExample("issues", "reopened");
  payload.action = "closed";
  payload.issue = { ...payload.issue, state: "closed" };
  return payload;
}

/**
 * `issue_comment.created` on the example issue (or, with `pullRequest`, on that pull request),
 * by `sender` (default Codertocat, a user).
 */
export function issueComment(
  body: string,
  options: { sender?: { login: string; type: "User" | "Bot" }; pullRequest?: number } = {},
): Payload {
  const payload = webhookExample("issue_comment", "created");
  const sender = { ...payload.sender, ...(options.sender ?? {}) };
  payload.sender = sender;
  payload.comment = { ...payload.comment, id: 4242, body, user: { ...payload.comment.user, login: sender.login, type: sender.type } };
  if (options.pullRequest) {
    payload.issue = {
      ...payload.issue,
      number: options.pullRequest,
      pull_request: { url: `https://api.github.com/repos/Codertocat/Hello-World/pulls/${options.pullRequest}` },
    };
  }
  return payload;
}

/** A review comment on pull request `pr` (by default Tollgate's, from `tollgate/issue-1`). */
export function reviewCommentCreated(
  comment: { id: number; body: string; path: string; line: number | null; login?: string },
  pr = { number: 100, headRef: "tollgate/issue-1" },
): Payload {
  const payload = webhookExample("pull_request_review_comment", "created");
  payload.pull_request = {
    ...payload.pull_request,
    number: pr.number,
    head: { ...payload.pull_request.head, ref: pr.headRef, repo: { ...payload.pull_request.head.repo, id: payload.repository.id } },
  };
  const login = comment.login ?? "Codertocat";
  payload.sender = { ...payload.sender, login, type: "User" };
  payload.comment = {
    ...payload.comment,
    id: comment.id,
    body: comment.body,
    path: comment.path,
    line: comment.line,
    user: { ...payload.comment.user, login, type: "User" },
  };
  return payload;
}

/** A submitted review (`changes_requested` by default) on Tollgate's pull request #100. */
export function reviewSubmitted(review: { id: number; body: string; state?: "changes_requested" | "commented" | "approved" }): Payload {
  const payload = webhookExample("pull_request_review", "submitted");
  payload.pull_request = {
    ...payload.pull_request,
    number: 100,
    head: { ...payload.pull_request.head, ref: "tollgate/issue-1", repo: { ...payload.pull_request.head.repo, id: payload.repository.id } },
  };
  payload.review = {
    ...payload.review,
    id: review.id,
    body: review.body,
    state: review.state ?? "changes_requested",
    user: { ...payload.review.user, login: "Codertocat", type: "User" },
  };
  payload.sender = { ...payload.sender, login: "Codertocat", type: "User" };
  payload.installation = { id: INSTALLATION_ID };
  return payload;
}
