/** The issue as the gate reads it: sanitized, Tollgate's own comments left out, cut to a budget. */
import type { IssueComment, IssueData } from "../../github/issues.js";
import { sanitize, truncateToTokens } from "../../github/sanitize.js";

export const ISSUE_TOKEN_BUDGET = 8_000;

export function issueText(issue: IssueData, comments: IssueComment[], budget = ISSUE_TOKEN_BUDGET): { text: string; removed: string[] } {
  const removed: string[] = [];
  const clean = (s: string) => {
    const r = sanitize(s);
    removed.push(...r.removed);
    return r.text.trim();
  };
  const human = comments.filter((c) => !c.authorIsBot);
  const parts = [
    `Title: ${clean(issue.title)}`,
    `Labels: ${issue.labels.map(clean).join(", ") || "none"}`,
    "",
    "Body:",
    clean(issue.body) || "(empty)",
  ];
  if (human.length) {
    parts.push("", `Comments (${human.length}, oldest first):`);
    for (const c of human) parts.push("", `@${c.author}:`, clean(c.body) || "(empty)");
  }
  return { text: truncateToTokens(parts.join("\n"), budget), removed };
}
