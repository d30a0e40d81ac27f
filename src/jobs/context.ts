/**
 * What every job about an issue or a pull request opens first, once: the installation's GitHub,
 * the issue, the repository's settings, and the one permission check.
 */
import { loadRepoConfig } from "../config/load-repo-config.js";
import { RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import { GitHubIssues, type Octokit, type Permission } from "../github/issues.js";
import { GitHubPulls } from "../github/pulls.js";
import type { IssueContext } from "../pipeline/issue-context.js";

/**
 * A factory of installation-authenticated Octokits: the jobs' GitHub port. `appId` is the app
 * they act as, by which Tollgate tells its own comments from other bots'.
 */
export type GitHubFactory = ((installationId: number) => Promise<Octokit>) & { readonly appId: number };

/** Who may do what: writers start runs and give commands; maintainers also override the gate. */
export type Access = "write" | "maintain";
const GRANTS: Record<Access, ReadonlySet<Permission>> = {
  write: new Set(["admin", "maintain", "write"]),
  maintain: new Set(["admin", "maintain"]),
};
const WHO: Record<Access, string> = {
  write: "people with write, maintain or admin access",
  maintain: "people with maintain or admin access",
};

export interface AccessCheck {
  allowed: boolean;
  permission: Permission;
  /** The answer to someone refused, who wanted to `what` ("start Tollgate"): who may, and what they have. */
  refusal(what: string): string;
}

export interface JobTarget {
  installationId: number;
  repository: { owner: string; name: string };
  issue: { number: number };
}

export class JobContext implements IssueContext {
  /** The issue this job is about; a command on a Tollgate PR moves it to the PR's issue. */
  issue: number;
  #settings?: Promise<RepoConfig | RepoConfigError>;
  #pulls?: GitHubPulls;
  readonly #permissions = new Map<string, Promise<Permission>>();

  private constructor(
    readonly octokit: Octokit,
    readonly gh: GitHubIssues,
    readonly owner: string,
    readonly repo: string,
    issue: number,
  ) {
    this.issue = issue;
  }

  /** The pull requests of the repository. */
  get pulls(): GitHubPulls {
    return (this.#pulls ??= new GitHubPulls(this.octokit, this.owner, this.repo));
  }

  /** An installation token for git, asked for each time (Octokit's auth caches it until it nears expiry). */
  async gitToken(): Promise<string> {
    return ((await this.octokit.auth({ type: "installation" })) as { token: string }).token;
  }

  static async open(github: GitHubFactory, job: JobTarget): Promise<JobContext> {
    const { owner, name: repo } = job.repository;
    const octokit = await github(job.installationId);
    return new JobContext(octokit, new GitHubIssues(octokit, owner, repo, github.appId), owner, repo, job.issue.number);
  }

  /** The repository's `.github/tollgate.yml`, read once, or the problems that make it invalid (other errors are thrown). */
  settings(): Promise<RepoConfig | RepoConfigError> {
    this.#settings ??= loadRepoConfig(this.octokit as never, this.owner, this.repo).then(
      (loaded) => loaded.config,
      (error: unknown) => {
        if (error instanceof RepoConfigError) return error;
        throw error;
      },
    );
    return this.#settings;
  }

  /** The one permission check: may `login` do what needs `access` on this repository? */
  async may(login: string, access: Access): Promise<AccessCheck> {
    if (!this.#permissions.has(login)) this.#permissions.set(login, this.gh.permission(login));
    const permission = await this.#permissions.get(login)!;
    return {
      allowed: GRANTS[access].has(permission),
      permission,
      refusal: (what) => `@${login}, only ${WHO[access]} to ${this.owner}/${this.repo} can ${what} (you have ${permission} access).`,
    };
  }
}
