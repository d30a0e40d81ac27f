/**
 * The sticky issue comment: the gate's verdict (criteria as a checklist, questions, what the
 * gate cost, the expected cost of the run), and the run's state under it.
 */
import type { ExpectedCost } from "../stores/history.js";
import { formatUsd } from "../llm/money.js";
import { CRITERIA, type Criterion, type Verdict } from "../phases/gate/verdict.js";

const LABEL: Record<Criterion, string> = {
  problem: "Problem",
  acceptance_criteria: "Acceptance criteria",
  scope: "Scope",
  constraints: "Constraints",
  test_plan: "Test plan",
};
const MARK = { pass: "✅", weak: "⚠️", missing: "❌" } as const;

export interface GateCommentInput {
  verdict: Verdict;
  gateCostMicros: number | null;
  expected: ExpectedCost | null;
  /** What happens next, in one line. */
  status: string;
  needsSpecLabel: string;
  triggerLabel: string;
}

export function renderGateComment(input: GateCommentInput): string {
  const { verdict } = input;
  const lines = [
    `### Tollgate spec gate: ${verdict.ready ? "ready ✅" : "needs more spec ❌"} (score ${verdict.score}/100)`,
    "",
    `Ticket: **${verdict.ticket_type}**, size **${verdict.size.toUpperCase()}**`,
    "",
    ...CRITERIA.map((c) => {
      const { status, note } = verdict.criteria[c];
      return `- [${status === "pass" ? "x" : " "}] ${MARK[status]} **${LABEL[c]}**: ${note}`;
    }),
  ];
  if (verdict.questions.length) {
    lines.push("", "**Questions that would make this ready:**", ...verdict.questions.map((q, i) => `${i + 1}. ${q}`));
  }
  lines.push("", `Gate cost: ${input.gateCostMicros === null ? "unknown" : formatUsd(input.gateCostMicros)}.`);
  lines.push(
    input.expected
      ? `Expected cost of a ${verdict.ticket_type} run: median ${formatUsd(input.expected.medianMicros)}, p90 ${formatUsd(input.expected.p90Micros)} (from ${input.expected.runs} past runs in this ${input.expected.scope}).`
      : `Expected cost: no history yet for ${verdict.ticket_type} tickets (it shows after 3 finished runs).`,
  );
  lines.push("", `**Status:** ${input.status}`);
  if (!verdict.ready) {
    lines.push(
      "",
      `Answer the questions in the issue: an edit by someone with write access runs the gate again while \`${input.triggerLabel}\` is on. Answers from anyone else count once someone with write access has read them and comments \`/retry\`.`,
    );
  }
  return lines.join("\n");
}

export function renderConfigError(problems: string[], file: string): string {
  return [
    "### Tollgate could not start",
    "",
    `\`${file}\` is invalid, so nothing was run and nothing was spent:`,
    "",
    ...problems.map((p) => `- ${p}`),
    "",
    "Fix the file, then remove and add the label again.",
  ].join("\n");
}

export function renderFailure(what: string, reason: string): string {
  return [`### Tollgate stopped: ${what}`, "", reason, "", "Remove and add the label again to retry."].join("\n");
}

/** Where a ready run stands: next, or behind `ahead` runs that wait for a worker. */
export function readyStatus(ahead: number): string {
  if (ahead === 0) return "ready: planning starts shortly; this comment shows the progress.";
  return `ready, and ${queuedText(ahead)}. Planning starts when a worker is free; this comment shows the progress from then, and \`/status\` says where it is meanwhile.`;
}

/** "queued: number 3 in line (2 runs wait for a worker ahead of it)". */
export function queuedText(ahead: number): string {
  return `queued: number ${ahead + 1} in line (${ahead === 1 ? "1 run waits" : `${ahead} runs wait`} for a worker ahead of it)`;
}
