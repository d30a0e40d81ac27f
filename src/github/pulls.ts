/**
 * Tollgate's pull requests through the REST API (and GraphQL for the draft ↔ ready switch, which
 * REST does not offer). One PR per issue branch: an open PR for the branch is updated, never
 * duplicated. Bodies are scanned for secrets and cut to GitHub's size limit.
 */
import { fit, type Octokit } from "./issues.js";
import { maskSecrets } from "../safety/secrets.js";

export interface PullRequest {
  number: number;
  nodeId: string;
  url: string;
  draft: boolean;
}

/** A review of a pull request (its summary text and state). */
export interface Review {
  id: number;
  author: string;
  authorIsBot: boolean;
  state: string;
  body: string;
  submittedAt: string | null;
}

export interface ReviewComment {
  id: number;
  inReplyTo: number | null;
  author: string;
  /** Any bot: a GitHub App's bot user, an Action's GITHUB_TOKEN (github-actions[bot]), … */
  authorIsBot: boolean;
  /**
   * Written by Tollgate: its author is the bot user this installation acts as (review comments
   * carry no `performed_via_github_app`; the `<slug>[bot]` login is the app's alone). Another
   * bot's comment is not. `reviewComments` always sets it; absent (comments made up elsewhere),
   * a bot's comment counts as Tollgate's.
   */
  mine?: boolean;
  path: string;
  /** The line in the new file; null when the line is gone (outdated or deleted). */
  line: number | null;
  /** The diff around the comment, as the reviewer saw it (the context of a line that is gone). */
  diffHunk: string;
  body: string;
  createdAt: string;
}

export class GitHubPulls {
  #login?: Promise<string>;

  constructor(
    private readonly octokit: Octokit,
    readonly owner: string,
    readonly repo: string,
  ) {}

  /**
   * The login of the bot user this installation token acts as (`<slug>[bot]`), asked once:
   * GraphQL's viewer, which unlike REST's GET /user answers an installation token.
   */
  login(): Promise<string> {
    this.#login ??= this.octokit.graphql<{ viewer: { login: string } }>("query { viewer { login } }").then(({ viewer }) => viewer.login);
    return this.#login;
  }

  /** The open PR whose head is `branch` of this repository, if any. */
  async findOpen(branch: string): Promise<PullRequest | undefined> {
    const { data } = await this.octokit.request("GET /repos/{owner}/{repo}/pulls", {
      owner: this.owner,
      repo: this.repo,
      head: `${this.owner}:${branch}`,
      state: "open",
      per_page: 10,
    });
    const pr = data.find((p) => p.head.ref === branch);
    return pr && { number: pr.number, nodeId: pr.node_id, url: pr.html_url, draft: Boolean(pr.draft) };
  }

  /** Every review comment of a PR, oldest first, each marked as Tollgate's own or not. */
  async reviewComments(number: number): Promise<Array<ReviewComment & { mine: boolean }>> {
    const [data, me] = await Promise.all([
      this.octokit.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/comments", {
        owner: this.owner,
        repo: this.repo,
        pull_number: number,
        per_page: 100,
      }),
      this.login(),
    ]);
    return data.map((c) => ({
      id: c.id,
      inReplyTo: c.in_reply_to_id ?? null,
      author: c.user?.login ?? "ghost",
      authorIsBot: c.user?.type === "Bot",
      mine: c.user?.type === "Bot" && c.user.login === me,
      path: c.path,
      line: c.line ?? null,
      diffHunk: c.diff_hunk,
      body: c.body,
      createdAt: c.created_at,
    }));
  }

  /** Every review of a PR (its state and its own body), oldest first. */
  async reviews(number: number): Promise<Review[]> {
    const data = await this.octokit.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
      owner: this.owner,
      repo: this.repo,
      pull_number: number,
      per_page: 100,
    });
    return data.map((r) => ({
      id: r.id,
      author: r.user?.login ?? "ghost",
      authorIsBot: r.user?.type === "Bot",
      state: r.state,
      body: r.body ?? "",
      submittedAt: r.submitted_at ?? null,
    }));
  }

  /** Answers in a review comment's thread. */
  async reply(number: number, commentId: number, body: string): Promise<void> {
    await this.octokit.request("POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies", {
      owner: this.owner,
      repo: this.repo,
      pull_number: number,
      comment_id: commentId,
      body: fit(maskSecrets(body)),
    });
  }

  /** Opens the PR, or updates the open one of the branch; its draft state follows `draft`. */
  async upsert(pr: {
    branch: string;
    base: string;
    title: string;
    body: string;
    draft: boolean;
  }): Promise<PullRequest & { created: boolean }> {
    const body = fit(maskSecrets(pr.body));
    const existing = await this.findOpen(pr.branch);
    if (!existing) {
      const { data } = await this.octokit.request("POST /repos/{owner}/{repo}/pulls", {
        owner: this.owner,
        repo: this.repo,
        head: pr.branch,
        base: pr.base,
        title: pr.title,
        body,
        draft: pr.draft,
      });
      return { number: data.number, nodeId: data.node_id, url: data.html_url, draft: Boolean(data.draft), created: true };
    }
    await this.octokit.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", {
      owner: this.owner,
      repo: this.repo,
      pull_number: existing.number,
      title: pr.title,
      body,
    });
    if (existing.draft !== pr.draft) {
      const mutation = pr.draft
        ? "mutation($id: ID!) { convertPullRequestToDraft(input: { pullRequestId: $id }) { pullRequest { isDraft } } }"
        : "mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }";
      await this.octokit.graphql(mutation, { id: existing.nodeId });
    }
    return { ...existing, draft: pr.draft, created: false };
  }
}
