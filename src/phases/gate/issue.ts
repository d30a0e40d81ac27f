/**
 * The issue as Tollgate reads it from GitHub (src/github/issues.ts gives it): what the gate
 * judges, and plan and execute read later from the gate's checkpoint.
 */
export interface IssueComment {
  id: number;
  author: string;
  /** Any bot: a GitHub App's bot user, an Action's GITHUB_TOKEN (github-actions[bot]), … */
  authorIsBot: boolean;
  /**
   * Written by this app: GitHub marks a comment an app created with `performed_via_github_app`
   * (the app's id), which no other app or token can set, and its author is the app's bot user.
   * Another bot's comment, whatever it says, is not mine.
   */
  mine: boolean;
  body: string;
  /** When the comment was last written (created or edited): whoever acted before that did not see it. */
  updatedAt: string;
}

export interface IssueData {
  title: string;
  body: string;
  labels: string[];
  state: string;
  author: string;
}
