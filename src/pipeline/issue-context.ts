/**
 * The GitHub side of the issue a pipeline step works on (the jobs open it: src/jobs/context.ts):
 * the calls the pipeline makes, which src/github/issues.ts's `GitHubIssues` answers.
 */
import type { IssueComment, IssueData } from "../phases/gate/issue.js";
import type { ThreadReplies } from "./review-threads.js";

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

/** The pull requests a run opens and answers in (src/github/pulls.ts's `GitHubPulls` answers it). */
export interface PullsPort extends ThreadReplies {
  /** Opens the PR of `branch`, or updates the open one; its number and URL. */
  upsert(pr: {
    branch: string;
    base: string;
    title: string;
    body: string;
    draft: boolean;
  }): Promise<{ number: number; url: string; draft: boolean; created: boolean }>;
}

export interface IssueContext {
  gh: IssuePort;
  pulls: PullsPort;
  /** A token for git to fetch and push with, asked for before each git command (installation tokens expire). */
  gitToken(): Promise<string>;
  owner: string;
  repo: string;
  issue: number;
}
