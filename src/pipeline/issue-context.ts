/** What every job about an issue opens first: the installation's GitHub, the issue, the repo's settings. */
import { loadRepoConfig } from "../config/load-repo-config.js";
import { RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import { GitHubIssues, type Octokit } from "../github/issues.js";

export interface IssueContext {
  octokit: Octokit;
  gh: GitHubIssues;
  owner: string;
  repo: string;
  issue: number;
}

export async function openIssue(
  github: (installationId: number) => Promise<Octokit>,
  job: { installationId: number; repository: { owner: string; name: string }; issue: { number: number } },
): Promise<IssueContext> {
  const { owner, name: repo } = job.repository;
  const octokit = await github(job.installationId);
  return { octokit, gh: new GitHubIssues(octokit, owner, repo), owner, repo, issue: job.issue.number };
}

/** The repo's `.github/tollgate.yml`, or the problems that make it invalid (other errors are thrown). */
export async function repoSettings(ctx: IssueContext): Promise<RepoConfig | RepoConfigError> {
  try {
    return (await loadRepoConfig(ctx.octokit as never, ctx.owner, ctx.repo)).config;
  } catch (error) {
    if (error instanceof RepoConfigError) return error;
    throw error;
  }
}
