/** The GitHub side of the issue a pipeline step works on (the jobs open it: src/jobs/context.ts). */
import type { GitHubIssues, Octokit } from "../github/issues.js";

export interface IssueContext {
  octokit: Octokit;
  gh: GitHubIssues;
  owner: string;
  repo: string;
  issue: number;
}
