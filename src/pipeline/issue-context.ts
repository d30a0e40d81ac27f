/**
 * The GitHub side of the issue a pipeline step works on (the jobs open it: src/jobs/context.ts):
 * the calls the pipeline makes, which src/github/issues.ts's `GitHubIssues` answers.
 */
import type { ProbotOctokit } from "probot";
import type { IssueComment, IssueData } from "../phases/gate/issue.js";

export interface IssuePort {
  issue(number: number): Promise<IssueData>;
  comments(number: number): Promise<IssueComment[]>;
  /** A short summary of the repository, for the gate. */
  summary(): Promise<string>;
  /** Writes Tollgate's one comment on the issue (or PR), in place; returns its id. */
  upsertSticky(number: number, body: string): Promise<number>;
  comment(number: number, body: string): Promise<void>;
  ensureLabel(name: string, color: string, description: string): Promise<void>;
  addLabels(number: number, labels: string[]): Promise<void>;
  removeLabel(number: number, name: string): Promise<void>;
}

export interface IssueContext {
  /** The installation's client, for what the pipeline still opens itself (pull requests, the push token). */
  octokit: InstanceType<typeof ProbotOctokit>;
  gh: IssuePort;
  owner: string;
  repo: string;
  issue: number;
}
