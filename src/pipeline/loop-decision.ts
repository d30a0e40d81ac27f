/**
 * After each round: pass, go round again with feedback, or stop. "No progress" is the same set
 * of findings twice in a row: the failing checks' findings (or, without a triage, the failing
 * commands) and the review's blocking findings, compared by file and normalized text.
 *
 * Only what must change starts another round: checks that fail because of the change, and the
 * review's blocking findings. Checks that already failed on the base commit are named as such,
 * and the review's suggestions go to the pull request's description, not to the next round. The
 * round's feedback carries the raw failing output next to the triage, which is labelled as hints
 * (a light model read the log without the code).
 */
import type { Review } from "../phases/review/review.js";
import type { CheckResult, VerifyOutput } from "../phases/verify/verify.js";

export type StopStatus = "max_iterations" | "no_progress" | "budget" | "unverified" | "unreviewed" | "unfinished";

export type Decision =
  { kind: "pass" } | { kind: "again"; feedback: string; findings: string[] } | { kind: "stop"; status: StopStatus; reason: string };

/** The raw failing output a round's feedback carries: per command, and in all. */
const RAW_PER_CHECK = 3_000;
const RAW_TOTAL = 8_000;

const normalize = (text: string) =>
  text
    .toLowerCase()
    .replace(/\d+(\.\d+)?\s*(ms|s)\b/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);

const failing = (c: CheckResult) => c.exitCode !== 0 || c.timedOut;
const command = (c: CheckResult) => `\`${c.argv.join(" ")}\``;

export function decideRound(input: {
  iteration: number;
  max: number;
  verify: VerifyOutput;
  review?: Review;
  previous?: Decision;
  /** The work units of this round that did not finish (they hit a limit), by title. */
  unfinished?: string[];
}): Decision {
  const { verify, review } = input;
  // another round cannot make checks run that this host cannot run
  if (verify.notRun) return { kind: "stop", status: "unverified", reason: `the checks were not run: ${verify.notRun}.` };
  if (review?.unavailable)
    return { kind: "stop", status: "unreviewed", reason: `the change could not be reviewed: ${review.unavailable}.` };
  // the verdict follows from the blocking findings (as runReview makes it): suggestions never hold a round back
  const blocking = review?.findings.filter((f) => f.severity === "blocking") ?? [];
  if (verify.passed && review && !blocking.length) {
    if (!input.unfinished?.length) return { kind: "pass" };
    const units = input.unfinished.join(", ");
    return {
      kind: "stop",
      status: "unfinished",
      reason: `work did not finish (${units} hit a limit); the checks and the review passed on what was done.`,
    };
  }

  const feedback: string[] = [];
  const findings: string[] = [];
  if (!verify.passed) verifyFeedback(verify, feedback, findings);
  const before = verify.checks.filter((c) => c.preexisting);
  if (before.length)
    feedback.push(
      `Already failing before the change (they fail on the base commit too, so this change did not cause them; do not chase them unless the issue asks): ${before.map(command).join(", ")}.`,
    );
  if (review && blocking.length) {
    feedback.push(`The review found blocking problems: ${review.summary}`);
    for (const f of blocking) {
      feedback.push(`- ${f.file}${f.line ? `:${f.line}` : ""}: ${f.body}`);
      findings.push(`review|${f.file}|${normalize(f.body)}`);
    }
  }

  const previous = input.previous?.kind === "again" ? input.previous.findings : undefined;
  if (previous && findings.length && same(previous, findings)) {
    return {
      kind: "stop",
      status: "no_progress",
      reason: `round ${input.iteration} ended with the same findings as round ${input.iteration - 1}, so another round would not help.`,
    };
  }
  if (input.iteration >= input.max) {
    const what = !verify.passed ? "the checks still fail" : "the review still requests changes";
    return {
      kind: "stop",
      status: "max_iterations",
      reason: `${what} after ${input.max} round${input.max === 1 ? "" : "s"} (loop.max_iterations).`,
    };
  }
  return { kind: "again", feedback: ["The previous round did not pass. Address what follows:", ...feedback].join("\n"), findings };
}

/** The failed checks' part of the feedback: the commands, their raw failing lines, the triage as hints. */
function verifyFeedback(verify: VerifyOutput, feedback: string[], findings: string[]): void {
  const failed = verify.checks.filter((c) => failing(c) && !c.preexisting);
  feedback.push(`Checks that failed: ${failed.map(command).join(", ")}.`);
  let room = RAW_TOTAL;
  const raw: string[] = [];
  for (const c of failed) {
    if (room <= 0) break;
    // the output is the checked code's: it cannot close the tag it is quoted in
    let excerpt = c.excerpt.replace(/<\/?failing_output>/gi, "");
    if (excerpt.length > Math.min(RAW_PER_CHECK, room)) excerpt = `[…]\n${excerpt.slice(-Math.min(RAW_PER_CHECK, room))}`;
    room -= excerpt.length;
    if (excerpt) raw.push(`$ ${c.argv.join(" ")} (${c.timedOut ? "timed out" : `exit ${c.exitCode}`})`, excerpt);
  }
  if (raw.length)
    feedback.push(
      "",
      "<failing_output>",
      "The failing lines of each check's output (run the command again to see it whole):",
      ...raw,
      "</failing_output>",
      "",
    );
  if (verify.triage) {
    feedback.push(
      `Triage (hints from a quick read of the log, without the code: confirm by re-running the failing command): ${verify.triage.summary}`,
    );
    for (const f of verify.triage.findings) {
      feedback.push(`- ${f.file ? `${f.file}${f.line ? `:${f.line}` : ""}: ` : ""}${f.problem} Fix: ${f.fix}`);
      findings.push(`verify|${f.file ?? ""}|${normalize(f.problem)}`);
    }
  } else if (verify.triageFailed) feedback.push("No triage of these failures could be had: read the failing output above.");
  if (!verify.triage?.findings.length)
    for (const c of failed) findings.push(`verify|${c.argv.join(" ")}|${normalize(c.excerpt.split("\n").slice(-5).join(" "))}`);
}

function same(a: string[], b: string[]): boolean {
  const x = new Set(a);
  return a.length === b.length && b.every((f) => x.has(f));
}
