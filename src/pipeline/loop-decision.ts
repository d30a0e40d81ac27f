/**
 * After each round: pass, go round again with feedback, or stop. "No progress" is the same set
 * of findings twice in a row: the failing checks' findings (or, without a triage, the failing
 * commands) and the review's blocking findings, compared by file and normalized text.
 */
import type { Review } from "../phases/review/review.js";
import type { VerifyOutput } from "../phases/verify/verify.js";

export type Decision =
  | { kind: "pass" }
  | { kind: "again"; feedback: string; findings: string[] }
  | { kind: "stop"; status: "max_iterations" | "no_progress" | "budget" | "unverified"; reason: string };

const normalize = (text: string) =>
  text
    .toLowerCase()
    .replace(/\d+(\.\d+)?\s*(ms|s)\b/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);

export function decideRound(input: {
  iteration: number;
  max: number;
  verify: VerifyOutput;
  review?: Review;
  previous?: Decision;
}): Decision {
  const { verify, review } = input;
  if (verify.passed && review?.verdict === "approve") return { kind: "pass" };
  // another round cannot make checks run that this host cannot run
  if (verify.notRun) return { kind: "stop", status: "unverified", reason: `the checks were not run: ${verify.notRun}.` };

  const feedback: string[] = [];
  const findings: string[] = [];
  if (!verify.passed) {
    const failed = verify.checks.filter((c) => c.exitCode !== 0 || c.timedOut);
    feedback.push(`Checks that failed: ${failed.map((c) => `\`${c.argv.join(" ")}\``).join(", ")}.`);
    if (verify.triage) {
      feedback.push(verify.triage.summary);
      for (const f of verify.triage.findings) {
        feedback.push(`- ${f.file ? `${f.file}${f.line ? `:${f.line}` : ""}: ` : ""}${f.problem} Fix: ${f.fix}`);
        findings.push(`verify|${f.file ?? ""}|${normalize(f.problem)}`);
      }
    }
    if (!verify.triage?.findings.length)
      for (const c of failed) findings.push(`verify|${c.argv.join(" ")}|${normalize(c.excerpt.split("\n").slice(-5).join(" "))}`);
  }
  if (review && review.verdict === "request_changes") {
    feedback.push(`The review requested changes: ${review.summary}`);
    for (const f of review.findings) {
      feedback.push(`- ${f.file}${f.line ? `:${f.line}` : ""} (${f.severity}): ${f.body}`);
      if (f.severity === "blocking") findings.push(`review|${f.file}|${normalize(f.body)}`);
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
  return { kind: "again", feedback: ["The previous round did not pass. Address every point:", ...feedback].join("\n"), findings };
}

function same(a: string[], b: string[]): boolean {
  const x = new Set(a);
  return a.length === b.length && b.every((f) => x.has(f));
}
