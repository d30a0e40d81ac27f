/**
 * The pull request's body: why it is a draft (when it is), the summary, the plan, the
 * verification results (checks that already failed before the change said as such, with their
 * last lines, and that they verify nothing), the review
 * verdict with its blocking findings and then its suggestions (which no round works on), the per-phase cost table with its savings lines and
 * pie chart, the cost of each round, and `Closes #n`. The `tollgate run` report is the same text.
 * What a model wrote (plan, unit summaries, triage, review) is neutralised (no mentions, no
 * closing keywords but for the issue's own, no images, no raw HTML: src/safety/markdown.ts), each line
 * as it sits in the body, and the whole body once more, so that no field can undo another's.
 */
import type { PhaseCost } from "../stores/cost-rows.js";
import { ROUND_PHASES, type PhaseName } from "../phases/registry.js";
import type { ExecuteOutput } from "../phases/execute/execute.js";
import type { Plan } from "../phases/plan/plan-schema.js";
import type { Review } from "../phases/review/review.js";
import type { CheckResult, VerifyOutput } from "../phases/verify/verify.js";
import type { DroppedChange } from "../workspace/tree-guard.js";
import { forGitHub, neutralizeMarkdown } from "../safety/markdown.js";
import { maskSecrets } from "../safety/secrets.js";
import { formatDuration } from "./cost-table.js";
import { formatSpend } from "./progress.js";
import { fenced } from "../safety/fenced.js";
import { setupSection } from "./setup-summary.js";
import { describeCount } from "../phases/verify/test-summary.js";
import type { SetupOutput } from "../setup/setup.js";

export const PR_MARKER = "<!-- tollgate:pr -->";

export interface PrBodyInput {
  issueNumber?: number;
  /** The setup step's record (src/setup/setup.ts). */
  setup?: SetupOutput;
  /** The repository's `env:` (.github/tollgate.yml), which its commands had: listed in the Setup section. */
  repoEnv?: Record<string, string>;
  /** Set when the PR is a draft: why the checks did not pass. */
  draftReason?: string;
  plan: Plan;
  execute?: ExecuteOutput;
  verify?: VerifyOutput;
  review?: Review;
  /** The rendered cost table (src/report/cost-table.ts). */
  costTable: string;
  costs: PhaseCost[];
  iterations: number;
  /** Changes that were not published, and why (src/workspace/tree-guard.ts). */
  dropped?: DroppedChange[];
  /** The branch the work went to instead of the run's (someone else's commits were there). */
  moved?: { from: string; to: string; authors: string[] };
}

export function renderPrBody(input: PrBodyInput): string {
  const { plan } = input;
  const safe = (text: string) => neutralizeMarkdown(text, { allowIssue: input.issueNumber });
  const lines: string[] = [PR_MARKER];
  if (input.draftReason) lines.push(`> [!WARNING]`, `> **Draft: ${input.draftReason}** Review it as work in progress.`, "");
  if (input.moved) lines.push("> [!NOTE]", `> ${movedLine(input.moved)}`, "");
  lines.push("## Summary", "", safe(plan.summary), "");
  if (input.execute) {
    for (const unit of input.execute.units) {
      lines.push(
        safe(
          `- **${unit.title}**${unit.changed ? "" : " (no change)"}: ${oneParagraph(unit.summary)}${unit.conflicts?.length ? ` _(redone after a conflict in ${unit.conflicts.join(", ")})_` : ""}`,
        ),
      );
    }
    lines.push("", `Files changed: ${input.execute.changedFiles.map((f) => `\`${f}\``).join(", ") || "none"}.`, "");
  }
  lines.push(
    "<details><summary>Plan</summary>",
    "",
    ...plan.steps.map((s, i) => safe(`${i + 1}. ${s}`)),
    "",
    safe(`**Test strategy:** ${plan.test_strategy}`),
    "",
    "**Acceptance checks:**",
    ...plan.acceptance_checks.map((c) => safe(`- ${c}`)),
    "",
    "</details>",
    "",
  );
  if (input.dropped?.length) {
    lines.push("## Not published", "", "These changes were made during the run but are not in this pull request:", "");
    for (const d of input.dropped) lines.push(`- \`${d.path.replace(/`/g, "'")}\`: ${d.why}`);
    lines.push("");
  }
  if (input.setup) lines.push(...setupSection(input.setup, input.repoEnv));
  lines.push("## Verification", "");
  if (!input.verify) lines.push("Not run.");
  else if (input.verify.notRun) lines.push(`Not run: ${input.verify.notRun}.`);
  else if (!input.verify.checks.length)
    lines.push(
      "**Nothing was checked**: no `verify.commands` are configured in `.github/tollgate.yml` and Tollgate detected no test command, so no check ran. This is not a pass.",
    );
  else {
    lines.push("| Check | Result | Time |", "|---|---|---:|");
    for (const c of input.verify.checks) {
      const ok = c.exitCode === 0 && !c.timedOut;
      lines.push(
        `| \`${c.argv.join(" ").replace(/\|/g, "\\|")}\` | ${ok ? "✅ passed" : c.timedOut ? "❌ timed out" : `❌ exit ${c.exitCode ?? "none"}`}${c.tests ? ` (tests: ${describeCount(c.tests)})` : ""}${c.preexisting ? ", already failing before the change" : ""} | ${formatDuration(c.durationMs)} |`,
      );
    }
    lines.push(...notVerified(input.verify.checks.filter((c) => c.preexisting)));
    if (input.verify.triage) lines.push("", safe(`**Triage:** ${oneParagraph(input.verify.triage.summary)}`));
  }
  lines.push("", "## Review", "", ...reviewSection(input.review, safe));
  lines.push("", "## Cost", "", input.costTable, "");
  const rounds = perRound(input.costs, input.iterations);
  if (rounds) lines.push(rounds, "");
  if (input.issueNumber) lines.push(`Closes #${input.issueNumber}`);
  return forGitHub(lines.join("\n"), { allowIssue: input.issueNumber });
}

/** Checks whose last lines a PR shows at most, and how much of each. */
const SHOWN_PREEXISTING = 5;
const TAIL_LINES = 20;
const TAIL_CHARS = 3_000;

/**
 * Checks that already failed on the starting commit: the PR says plainly that they verify
 * nothing, and shows each one's last lines (masked, folded, in a fence no output can close), so
 * a reader can tell a real failure of the project's from an environment the checks lack.
 */
function notVerified(checks: CheckResult[]): string[] {
  if (!checks.length) return [];
  const names = checks.map((c) => `\`${c.argv.join(" ").replace(/`/g, "'")}\``).join(", ");
  const their = checks.length > 1 ? "Their" : "Its";
  const lines = [
    "",
    "Checks marked _already failing before the change_ fail on the base commit too, so this change did not cause them; they did not hold the pull request back.",
    "",
    "> [!WARNING]",
    `> This change is **not verified** by ${names}: a check that already fails cannot tell whether the change works. ${their} last lines are below, to tell a failure of the project's own from one of the environment (a service, a variable or a tool the project's CI has and these checks did not; see Setup).`,
  ];
  for (const c of checks.slice(0, SHOWN_PREEXISTING)) {
    const how = c.timedOut ? "timed out" : `exit ${c.exitCode ?? "none"}`;
    lines.push("", `<details><summary>Last lines of <code>${escapeHtml(c.argv.join(" "))}</code> (${how})</summary>`, "");
    lines.push(...fenced(maskSecrets(lastLines(c.excerpt.trimEnd()))), "", "</details>");
  }
  if (checks.length > SHOWN_PREEXISTING)
    lines.push("", `(${checks.length - SHOWN_PREEXISTING} more already failing checks, whose last lines are not shown.)`);
  return lines;
}

/** The end of a check's failing output (its excerpt ends with the output's last lines, whole). */
function lastLines(excerpt: string): string {
  const tail = excerpt.split("\n").slice(-TAIL_LINES).join("\n");
  return tail.length > TAIL_CHARS ? `[…]${tail.slice(-TAIL_CHARS)}` : tail;
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The verdict and the blocking findings, then the suggestions, which no round worked on: they are for a human. */
function reviewSection(review: Review | undefined, safe: (text: string) => string): string[] {
  if (!review) return ["Not reviewed: the checks did not pass, so no review was paid for."];
  if (review.unavailable) return [safe(`Not reviewed: ${review.unavailable}.`)];
  const lines = [safe(`**${review.verdict === "approve" ? "Approved ✅" : "Changes requested ❌"}**: ${oneParagraph(review.summary)}`)];
  const line = (f: Review["findings"][number], label = "") =>
    safe(`- \`${f.file}${f.line ? `:${f.line}` : ""}\`${label}: ${oneParagraph(f.body)}`);
  const blocking = review.findings.filter((f) => f.severity === "blocking");
  const suggestions = review.findings.filter((f) => f.severity !== "blocking");
  lines.push(...blocking.map((f) => line(f, " (blocking)")));
  if (suggestions.length)
    lines.push(
      "",
      "### Suggestions from the review",
      "",
      "Not required, and not worked on by Tollgate:",
      ...suggestions.map((f) => line(f)),
    );
  return lines;
}

function oneParagraph(text: string): string {
  return text
    .replace(/\s*\n\s*/g, " ")
    .trim()
    .slice(0, 1_500);
}

/** "Round 1: $0.42 · round 2: $0.18" over execute, verify and review. */
function perRound(costs: PhaseCost[], iterations: number): string {
  if (iterations < 1) return "";
  const parts: string[] = [];
  for (let i = 1; i <= iterations; i++) {
    const of = costs.filter((c) => c.iteration === i && ROUND_PHASES.includes(c.phase as PhaseName));
    parts.push(`round ${i}: ${formatSpend(of)}`);
  }
  return `Cost per round (execute + verify + review): ${parts.join(" · ")}.`;
}

/** Why the work is on `-<k>`: the sentence the PR body and the sticky comment share. */
export function movedLine(moved: { from: string; to: string; authors: string[] }): string {
  const whose = moved.authors.length ? ` (${moved.authors.map((a) => `\`${a.replace(/`/g, "'")}\``).join(", ")})` : "";
  return `\`${moved.from}\` has commits by someone else${whose}, which Tollgate never pushes over: this work is on \`${moved.to}\` instead.`;
}
