import { decideRound, type Decision } from "../../../src/pipeline/loop-decision.js";
import type { Review } from "../../../src/phases/review/review.js";
import type { CheckResult, VerifyOutput } from "../../../src/phases/verify/verify.js";

const ok = (argv: string[]): CheckResult => ({ argv, exitCode: 0, timedOut: false, durationMs: 1_000, excerpt: "" });
const fail = (argv: string[], excerpt: string, over: Partial<CheckResult> = {}): CheckResult => ({
  argv,
  exitCode: 1,
  timedOut: false,
  durationMs: 2_000,
  excerpt,
  ...over,
});

const passed: VerifyOutput = { passed: true, checks: [ok(["npm", "run", "lint"]), ok(["npm", "test"])] };
const failedWithTriage: VerifyOutput = {
  passed: false,
  checks: [
    ok(["npm", "run", "lint"]),
    fail(["npm", "test"], "✗ greet says Hi\n  expected 'Hi Ada', got 'Hello Ada'"),
    fail(["npm", "run", "e2e"], "", { exitCode: null, timedOut: true }),
  ],
  triage: {
    summary: "greet() still returns the old greeting.",
    findings: [
      { file: "src/greet.js", line: 3, problem: "The template still says Hello.", fix: "Change it to Hi." },
      { problem: "The e2e suite timed out.", fix: "Look at the server start-up." },
    ],
  },
};
const failedNoTriage = (excerpt: string): VerifyOutput => ({ passed: false, checks: [fail(["npm", "test"], excerpt)] });

const approve: Review = { verdict: "approve", summary: "Looks right.", findings: [] };
const changes = (findings: Review["findings"]): Review => ({
  verdict: "request_changes",
  summary: "The greeting is right but the docs are stale.",
  findings,
});
const blocking = { file: "README.md", line: 12, severity: "blocking" as const, body: "The README still shows `Hello Ada`." };
const suggestion = { file: "src/greet.js", line: 0, severity: "suggestion" as const, body: "Consider a constant for the greeting." };

const again = (d: Decision) => {
  if (d.kind !== "again") throw new Error(`expected another round, got ${JSON.stringify(d)}`);
  return d;
};

describe("decideRound", () => {
  it("passes when the checks pass and the review approves", () => {
    expect(decideRound({ iteration: 1, max: 3, verify: passed, review: approve })).toEqual({ kind: "pass" });
    // even on the last round, and whatever the round before found
    const previous = again(decideRound({ iteration: 1, max: 3, verify: failedWithTriage }));
    expect(decideRound({ iteration: 3, max: 3, verify: passed, review: approve, previous })).toEqual({ kind: "pass" });
  });

  it("goes again when the checks fail, naming the failed commands and the triage's findings", () => {
    const d = again(decideRound({ iteration: 1, max: 3, verify: failedWithTriage }));
    const lines = d.feedback.split("\n");
    expect(lines[0]).toBe("The previous round did not pass. Address what follows:");
    expect(lines[1]).toBe("Checks that failed: `npm test`, `npm run e2e`.");
    expect(d.feedback).not.toContain("npm run lint");
    // the raw failing lines, then the triage, labelled as hints to confirm
    expect(d.feedback).toContain(
      "<failing_output>\nThe failing lines of each check's output (run the command again to see it whole):\n$ npm test (exit 1)\n✗ greet says Hi\n  expected 'Hi Ada', got 'Hello Ada'\n</failing_output>",
    );
    expect(lines).toContain(
      "Triage (hints from a quick read of the log, without the code: confirm by re-running the failing command): greet() still returns the old greeting.",
    );
    expect(lines).toContain("- src/greet.js:3: The template still says Hello. Fix: Change it to Hi.");
    expect(lines).toContain("- The e2e suite timed out. Fix: Look at the server start-up.");
    // the triage's findings are what "no progress" compares, not the commands
    expect(d.findings).toEqual(["verify|src/greet.js|the template still says hello.", "verify||the e2e suite timed out."]);
  });

  it("without a triage, takes each failed command's last lines as its finding", () => {
    const d = again(
      decideRound({
        iteration: 1,
        max: 3,
        verify: failedNoTriage("line 1\nline 2\nline 3\nline 4\nline 5\nFAIL  greet.test.js\n  Expected: Hi"),
      }),
    );
    expect(d.findings).toEqual(["verify|npm test|line 3 line 4 line 5 fail greet.test.js expected: hi"]);
    expect(d.feedback).toBe(
      [
        "The previous round did not pass. Address what follows:",
        "Checks that failed: `npm test`.",
        "",
        "<failing_output>",
        "The failing lines of each check's output (run the command again to see it whole):",
        "$ npm test (exit 1)",
        "line 1\nline 2\nline 3\nline 4\nline 5\nFAIL  greet.test.js\n  Expected: Hi",
        "</failing_output>",
        "",
      ].join("\n"),
    );
  });

  it("without a triage because it could not be had, says so and points at the raw output", () => {
    const d = again(decideRound({ iteration: 1, max: 3, verify: { ...failedNoTriage("FAIL greet"), triageFailed: "cut off twice" } }));
    expect(d.feedback).toContain("$ npm test (exit 1)\nFAIL greet\n</failing_output>");
    expect(d.feedback).toContain("No triage of these failures could be had: read the failing output above.");
    expect(d.findings).toEqual(["verify|npm test|fail greet"]);
  });

  it("bounds the raw output: the end of each check's excerpt, and of all of them", () => {
    const long = (tag: string) => `${tag} start\n${"x".repeat(5_000)}\n${tag} end`;
    const verify: VerifyOutput = {
      passed: false,
      checks: [fail(["a"], long("A")), fail(["b"], long("B")), fail(["c"], long("C")), fail(["d"], long("D"))],
    };
    const d = again(decideRound({ iteration: 1, max: 3, verify }));
    expect(d.feedback).toContain("A end");
    expect(d.feedback).not.toContain("A start");
    expect(d.feedback).not.toContain("$ d (exit 1)"); // no room left for the fourth
    expect(d.feedback.length).toBeLessThan(9_000);
  });

  it("neither goes again for nor counts checks that already failed before the change, but names them", () => {
    const before = fail(["npm", "run", "e2e"], "flaky", { preexisting: true });
    const onlyBefore: VerifyOutput = { passed: true, checks: [ok(["npm", "test"]), before] };
    expect(decideRound({ iteration: 1, max: 3, verify: onlyBefore, review: approve })).toEqual({ kind: "pass" });
    const d = again(
      decideRound({ iteration: 1, max: 3, verify: { passed: false, checks: [fail(["npm", "test"], "FAIL greet"), before] } }),
    );
    expect(d.feedback).toContain("Checks that failed: `npm test`.");
    expect(d.feedback).toContain(
      "Already failing before the change (they fail on the base commit too, so this change did not cause them; do not chase them unless the issue asks): `npm run e2e`.",
    );
    expect(d.findings).toEqual(["verify|npm test|fail greet"]);
  });

  it("stops unreviewed when no review could be had, and unfinished when a unit did not finish though all passed", () => {
    const unavailable: Review = { ...changes([]), unavailable: "the reviewer refused to answer twice" };
    expect(decideRound({ iteration: 1, max: 3, verify: passed, review: unavailable })).toEqual({
      kind: "stop",
      status: "unreviewed",
      reason: "the change could not be reviewed: the reviewer refused to answer twice.",
    });
    expect(decideRound({ iteration: 1, max: 3, verify: passed, review: approve, unfinished: ["Change the greeting"] })).toEqual({
      kind: "stop",
      status: "unfinished",
      reason: "work did not finish (Change the greeting hit a limit); the checks and the review passed on what was done.",
    });
  });

  it("goes again for the review's blocking findings only: suggestions are neither in the feedback nor findings", () => {
    const d = again(decideRound({ iteration: 2, max: 3, verify: passed, review: changes([blocking, suggestion]) }));
    expect(d.feedback).toBe(
      [
        "The previous round did not pass. Address what follows:",
        "The review found blocking problems: The greeting is right but the docs are stale.",
        "- README.md:12: The README still shows `Hello Ada`.",
      ].join("\n"),
    );
    expect(d.findings).toEqual(["review|README.md|the readme still shows `hello ada`."]);
  });

  it("stops with no_progress when a round ends with the same findings as the one before", () => {
    const first = again(decideRound({ iteration: 1, max: 5, verify: failedWithTriage }));
    const d = decideRound({ iteration: 2, max: 5, verify: failedWithTriage, previous: first });
    expect(d).toEqual({
      kind: "stop",
      status: "no_progress",
      reason: "round 2 ended with the same findings as round 1, so another round would not help.",
    });
  });

  it("counts the same findings in another order, case, spacing or timing as the same", () => {
    const first = again(decideRound({ iteration: 1, max: 5, verify: failedNoTriage("Test timed out after 5000 ms\nFAIL greet") }));
    const d = decideRound({ iteration: 2, max: 5, verify: failedNoTriage("test   timed out after 5123 ms\nfail GREET"), previous: first });
    expect(d).toMatchObject({ kind: "stop", status: "no_progress" });

    const reviewFirst = again(
      decideRound({ iteration: 1, max: 5, verify: passed, review: changes([blocking, { ...blocking, file: "docs/a.md" }]) }),
    );
    const swapped = decideRound({
      iteration: 2,
      max: 5,
      verify: passed,
      review: changes([{ ...blocking, file: "docs/a.md", line: 40 }, blocking]),
      previous: reviewFirst,
    });
    expect(swapped).toMatchObject({ kind: "stop", status: "no_progress" });
  });

  it("goes again when the findings changed, or some were fixed", () => {
    const first = again(decideRound({ iteration: 1, max: 5, verify: failedWithTriage }));
    const fewer: VerifyOutput = {
      ...failedWithTriage,
      triage: { ...failedWithTriage.triage!, findings: failedWithTriage.triage!.findings.slice(0, 1) },
    };
    expect(decideRound({ iteration: 2, max: 5, verify: fewer, previous: first }).kind).toBe("again");
    // the same file but another problem
    const other: VerifyOutput = {
      ...failedWithTriage,
      triage: {
        ...failedWithTriage.triage!,
        findings: [
          { ...failedWithTriage.triage!.findings[0]!, problem: "The template has a typo." },
          failedWithTriage.triage!.findings[1]!,
        ],
      },
    };
    expect(decideRound({ iteration: 2, max: 5, verify: other, previous: first }).kind).toBe("again");
  });

  it("passes a review that only suggests, whatever its verdict says, and counts suggestions toward nothing", () => {
    expect(decideRound({ iteration: 1, max: 5, verify: passed, review: changes([suggestion]) })).toEqual({ kind: "pass" });
    const first = again(decideRound({ iteration: 1, max: 5, verify: passed, review: changes([blocking, suggestion]) }));
    expect(first.findings).toEqual(["review|README.md|the readme still shows `hello ada`."]);
    // the same blocking finding again, with other suggestions: no progress
    const second = decideRound({ iteration: 2, max: 5, verify: passed, review: changes([blocking]), previous: first });
    expect(second).toMatchObject({ kind: "stop", status: "no_progress" });
  });

  it("compares only with a previous round that went again", () => {
    const stop: Decision = { kind: "stop", status: "budget", reason: "out of budget" };
    expect(decideRound({ iteration: 2, max: 5, verify: failedWithTriage, previous: stop }).kind).toBe("again");
  });

  it("stops at the iteration cap, saying whether the checks or the review still fail", () => {
    expect(decideRound({ iteration: 3, max: 3, verify: failedWithTriage })).toEqual({
      kind: "stop",
      status: "max_iterations",
      reason: "the checks still fail after 3 rounds (loop.max_iterations).",
    });
    expect(decideRound({ iteration: 1, max: 1, verify: passed, review: changes([blocking]) })).toEqual({
      kind: "stop",
      status: "max_iterations",
      reason: "the review still requests changes after 1 round (loop.max_iterations).",
    });
    // checks that fail are named even when the review also requested changes
    expect(decideRound({ iteration: 2, max: 2, verify: failedWithTriage, review: changes([blocking]) })).toMatchObject({
      reason: "the checks still fail after 2 rounds (loop.max_iterations).",
    });
  });

  it("prefers no_progress to max_iterations on the last round when nothing changed", () => {
    const first = again(decideRound({ iteration: 1, max: 2, verify: failedWithTriage }));
    expect(decideRound({ iteration: 2, max: 2, verify: failedWithTriage, previous: first })).toMatchObject({ status: "no_progress" });
  });

  it("stops unverified when the checks were not run, on any round", () => {
    const notRun: VerifyOutput = { passed: false, checks: [], notRun: "commands are disabled (TOLLGATE_SANDBOX=none)" };
    const expected = {
      kind: "stop",
      status: "unverified",
      reason: "the checks were not run: commands are disabled (TOLLGATE_SANDBOX=none).",
    };
    expect(decideRound({ iteration: 1, max: 3, verify: notRun })).toEqual(expected);
    expect(decideRound({ iteration: 1, max: 3, verify: notRun, review: approve })).toEqual(expected);
  });
});
