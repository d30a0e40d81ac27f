/**
 * The GitHub side of a run on one repository: permissions, the issue and its comments, a short
 * repository summary, the sticky comment, labels. One installation-authenticated Octokit; every
 * text posted is masked for secrets first.
 */
import type { ProbotOctokit } from "probot";
import { forGitHub } from "../safety/markdown.js";
import { maskSecrets } from "../safety/secrets.js";
import { sanitize, truncateToTokens } from "../safety/sanitize.js";
import type { IssueComment, IssueData } from "../phases/gate/issue.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;
export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/**
 * Marks Tollgate's one comment per issue, found again by this marker and edited in place. Anyone
 * can write the marker: only a comment that is also Tollgate's own (`IssueComment.mine`) counts.
 */
export const STICKY_MARKER = "<!-- tollgate:sticky -->";

const COMMENT_LIMIT = 65_536;

export class GitHubIssues {
  constructor(
    private readonly octokit: Octokit,
    readonly owner: string,
    readonly repo: string,
    /** The GitHub App Tollgate acts as (`GitHubAppCredentials.appId`): how it knows its own comments. */
    readonly appId: number,
  ) {}

  /** The sender's role; "maintain" and "triage" come from role_name where GitHub gives it. */
  async permission(username: string): Promise<Permission> {
    try {
      const { data } = await this.octokit.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
        owner: this.owner,
        repo: this.repo,
        username,
      });
      const role = (data as { role_name?: string }).role_name;
      if (role === "maintain" || role === "triage") return role;
      return (data.permission as Permission) ?? "none";
    } catch (error) {
      if ((error as { status?: number }).status === 404) return "none"; // not a collaborator
      throw error;
    }
  }

  async issue(number: number): Promise<IssueData> {
    const { data } = await this.octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}", {
      owner: this.owner,
      repo: this.repo,
      issue_number: number,
    });
    return {
      title: data.title,
      body: data.body ?? "",
      labels: data.labels.map((l) => (typeof l === "string" ? l : (l.name ?? ""))).filter(Boolean),
      state: data.state,
      author: data.user?.login ?? "ghost",
    };
  }

  async comments(number: number): Promise<IssueComment[]> {
    const all = await this.octokit.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: this.owner,
      repo: this.repo,
      issue_number: number,
      per_page: 100,
    });
    return all.map((c) => ({
      id: c.id,
      author: c.user?.login ?? "ghost",
      authorIsBot: c.user?.type === "Bot",
      mine: c.user?.type === "Bot" && c.performed_via_github_app?.id === this.appId,
      body: c.body ?? "",
      updatedAt: c.updated_at,
    }));
  }

  /** The latest `labeled` event of `label` on the issue: its id (the label event a run consumes) and who added it. */
  async labelEvent(number: number, label: string): Promise<{ id: number; actor: string } | undefined> {
    const events = await this.octokit.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/events", {
      owner: this.owner,
      repo: this.repo,
      issue_number: number,
      per_page: 100,
    });
    // the events are a union of shapes: only `labeled` ones carry a label
    const labelled = events
      .filter((e) => e.event === "labeled" && "label" in e && (e.label as { name?: string } | undefined)?.name === label)
      .sort((a, b) => a.id - b.id);
    const last = labelled.at(-1);
    return last?.actor ? { id: last.id, actor: last.actor.login } : undefined;
  }

  /** Default branch, description, languages, the top-level files and the README's head. */
  async summary(): Promise<string> {
    const repoRoute = { owner: this.owner, repo: this.repo };
    const [{ data: repo }, { data: languages }] = await Promise.all([
      this.octokit.request("GET /repos/{owner}/{repo}", repoRoute),
      this.octokit.request("GET /repos/{owner}/{repo}/languages", repoRoute),
    ]);
    // Best effort: an empty repository has no contents and many have no README (404s).
    const top = await this.octokit
      .request("GET /repos/{owner}/{repo}/contents/{path}", { ...repoRoute, path: "" })
      .then(({ data }) => (Array.isArray(data) ? data.map((e) => `${e.name}${e.type === "dir" ? "/" : ""}`) : []))
      .catch(() => [] as string[]);
    const readme = await this.octokit
      .request("GET /repos/{owner}/{repo}/readme", { ...repoRoute, mediaType: { format: "raw" } })
      .then(({ data }) => String(data))
      .catch(() => "");
    const total = Object.values(languages).reduce((a, b) => a + b, 0) || 1;
    const langs = Object.entries(languages)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([name, bytes]) => `${name} ${Math.round((100 * bytes) / total)}%`);
    return [
      `${this.owner}/${this.repo} (default branch ${repo.default_branch})${repo.description ? `: ${sanitize(repo.description).text}` : ""}`,
      `Languages: ${langs.join(", ") || "unknown"}`,
      `Top level: ${top.slice(0, 60).join(" ") || "unknown"}`,
      readme ? `README (start):\n${truncateToTokens(sanitize(readme).text, 500)}` : "README: none",
    ].join("\n");
  }

  /**
   * Creates or edits Tollgate's one comment on the issue; a deleted one is created again. Only a
   * marked comment of its own is edited: another bot's comment with the marker is left alone (and
   * a sticky of Tollgate's own is posted). It carries model-written text (the gate's questions,
   * failure reasons), so it is neutralised (no mentions, no closing keywords, no images) as well
   * as masked.
   */
  async upsertSticky(number: number, body: string): Promise<number> {
    const text = fit(`${STICKY_MARKER}\n${forGitHub(body, { allowIssue: number })}`);
    const existing = (await this.comments(number)).find((c) => c.mine && c.body.includes(STICKY_MARKER));
    if (existing) {
      await this.octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
        owner: this.owner,
        repo: this.repo,
        comment_id: existing.id,
        body: text,
      });
      return existing.id;
    }
    const { data } = await this.octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: this.owner,
      repo: this.repo,
      issue_number: number,
      body: text,
    });
    return Number(data.id);
  }

  async comment(number: number, body: string): Promise<void> {
    await this.octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: this.owner,
      repo: this.repo,
      issue_number: number,
      body: fit(maskSecrets(body)),
    });
  }

  /** A reaction on an issue comment: how a command is acknowledged without a reply. */
  async react(commentId: number, content: "+1" | "eyes" | "confused"): Promise<void> {
    await this.octokit.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {
      owner: this.owner,
      repo: this.repo,
      comment_id: commentId,
      content,
    });
  }

  /** Creates the label unless it exists. */
  async ensureLabel(name: string, color: string, description: string): Promise<void> {
    try {
      await this.octokit.request("POST /repos/{owner}/{repo}/labels", { owner: this.owner, repo: this.repo, name, color, description });
    } catch (error) {
      if ((error as { status?: number }).status !== 422) throw error; // 422: it exists
    }
  }

  async addLabels(number: number, labels: string[]): Promise<void> {
    await this.octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", {
      owner: this.owner,
      repo: this.repo,
      issue_number: number,
      labels,
    });
  }

  async removeLabel(number: number, name: string): Promise<void> {
    try {
      await this.octokit.request("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", {
        owner: this.owner,
        repo: this.repo,
        issue_number: number,
        name,
      });
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error; // not on the issue
    }
  }
}

/** GitHub refuses bodies over 65,536 characters: cut with a note rather than fail. */
export function fit(text: string): string {
  if (text.length <= COMMENT_LIMIT) return text;
  const note = "\n\n… (cut to fit GitHub's comment size limit)";
  return text.slice(0, COMMENT_LIMIT - note.length) + note;
}
