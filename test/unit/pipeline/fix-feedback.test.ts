/**
 * A fix round's feedback: a revision's review threads kept in every round, what the last round
 * left to do (raw failing lines, triage as hints), the change so far and earlier summaries.
 */
import { fixFeedback, FIX_DIFF_TOKENS } from "../../../src/pipeline/fix-feedback.js";
import { decideRound } from "../../../src/pipeline/loop-decision.js";
import type { VerifyOutput } from "../../../src/phases/verify/verify.js";

const human = "#1 @ada on src/greet.js:2: Use a constant for the greeting.\nAnswer each comment as `#<number>: …`.";
const verify: VerifyOutput = {
  passed: false,
  checks: [
    { argv: ["npm", "test"], exitCode: 1, timedOut: false, durationMs: 10, excerpt: "✗ greets\n  expected 'Hi Ada', got 'Hey Ada'" },
  ],
  triage: { summary: "The greeting is wrong.", findings: [{ file: "src/greet.js", line: 2, problem: "Says Hey.", fix: "Say Hi." }] },
};
const round1 = [{ id: "fix", title: "Address the feedback on the change", summary: "Added GREETING = 'Hey'.", changed: true }];
const diff = {
  stat: " src/greet.js | 3 ++-\n 1 file changed, 2 insertions(+), 1 deletion(-)",
  patch: 'diff --git a/src/greet.js b/src/greet.js\n-  return "Hello " + name;\n+  return GREETING + name;\n',
  summarised: [{ path: "package-lock.json", why: "lockfile" as const, added: 3, deleted: 1 }],
};

describe("a fix round's feedback", () => {
  it("keeps a revision's review threads first, then the raw failing lines, the hints, the diff and the earlier summaries", () => {
    const decision = decideRound({ iteration: 1, max: 3, verify });
    if (decision.kind !== "again") throw new Error("expected another round");
    const text = fixFeedback({ human, round: decision.feedback, diff, rounds: [round1] });
    // the human threads are still there in round 2, whole, before anything else
    expect(text.startsWith("<review_threads>\n")).toBe(true);
    expect(text).toContain(human);
    const order = [
      "</review_threads>",
      "Checks that failed: `npm test`.",
      "$ npm test (exit 1)\n✗ greets\n  expected 'Hi Ada', got 'Hey Ada'",
      "Triage (hints from a quick read of the log, without the code: confirm by re-running the failing command): The greeting is wrong.",
      "- src/greet.js:2: Says Hey. Fix: Say Hi.",
      "<change_so_far>",
      " 1 file changed, 2 insertions(+), 1 deletion(-)",
      "- package-lock.json (lockfile, +3 −1 lines)",
      "+  return GREETING + name;",
      "<earlier_rounds>",
      "Round 1, Address the feedback on the change (fix): Added GREETING = 'Hey'.",
    ].map((s) => text.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("has no review threads outside a revision, and bounds the diff", () => {
    const big = { ...diff, patch: "+x\n".repeat(FIX_DIFF_TOKENS * 4) };
    const text = fixFeedback({ round: "The previous round did not pass.", diff: big, rounds: [round1, round1] });
    expect(text).not.toContain("<review_threads>");
    expect(text.length).toBeLessThan(FIX_DIFF_TOKENS * 4 + 2_000);
    expect(text).toContain(`-token budget]`);
    expect(text).toContain("Round 2, Address the feedback on the change (fix)");
  });
});
