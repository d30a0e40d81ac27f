import type { Verdict } from "../../../src/phases/gate/verdict.js";
import {
  readyStatus,
  renderConfigError,
  renderFailure,
  renderGateComment,
  type GateCommentInput,
} from "../../../src/report/gate-comment.js";
import { expectGolden } from "../../helpers/golden.js";

const ready: Verdict = {
  ready: true,
  score: 84,
  criteria: {
    problem: { status: "pass", note: 'greet() returns "Hello Ada"; the issue wants "Hi Ada" to match the new style guide.' },
    acceptance_criteria: { status: "pass", note: "greet('Ada') returns 'Hi Ada'; the existing tests are updated." },
    scope: { status: "pass", note: "Only src/greet.js and its test." },
    constraints: { status: "weak", note: "No word on whether the old greeting must stay behind a flag." },
    test_plan: { status: "pass", note: "`npm test` covers greet()." },
  },
  questions: [],
  ticket_type: "feature",
  size: "s",
};

const notReady: Verdict = {
  ready: false,
  score: 38,
  criteria: {
    problem: { status: "weak", note: '"The export is slow": which export, and how slow?' },
    acceptance_criteria: { status: "missing", note: "No target time or measurable outcome." },
    scope: { status: "missing", note: "CSV, JSON or both?" },
    constraints: { status: "pass", note: "Must keep the current file format." },
    test_plan: { status: "missing", note: "No way to tell that it got faster." },
  },
  questions: [
    "Which export is slow: the CSV report or the JSON dump?",
    "How long does it take now, on how many rows, and what would be fast enough?",
  ],
  ticket_type: "bug",
  size: "m",
};

const input = (over: Partial<GateCommentInput> = {}): GateCommentInput => ({
  verdict: ready,
  gateCostMicros: 63_125,
  expected: { scope: "repository", runs: 12, medianMicros: 420_000, p90Micros: 1_350_000 },
  status: "Starting the run: planning next.",
  needsSpecLabel: "tollgate:needs-spec",
  triggerLabel: "tollgate",
  ...over,
});

describe("the gate comment", () => {
  it("renders a ready verdict with the expected cost of the run (golden)", () => {
    const text = renderGateComment(input());
    expectGolden("gate-comment-ready", text);
    // precise lines, so that a wrong golden cannot hide them
    expect(text.split("\n")[0]).toBe("### Tollgate spec gate: ready ✅ (score 84/100)");
    expect(text).toContain("Ticket: **feature**, size **S**");
    expect(text).toContain("- [x] ✅ **Problem**: ");
    expect(text).toContain("- [ ] ⚠️ **Constraints**: No word on whether");
    expect(text).toContain("Gate cost: $0.0631.");
    expect(text).toContain("Expected cost of a feature run: median $0.42, p90 $1.35 (from 12 past runs in this repository).");
    expect(text).not.toContain("Questions");
    expect(text).not.toContain("Edit the issue");
  });

  it("renders a not-ready verdict: its questions, no history yet, how to run it again (golden)", () => {
    const text = renderGateComment(
      input({
        verdict: notReady,
        gateCostMicros: 20_000,
        expected: null,
        status: "Waiting for a better spec: labelled `tollgate:needs-spec`.",
      }),
    );
    expectGolden("gate-comment-not-ready", text);
    expect(text.split("\n")[0]).toBe("### Tollgate spec gate: needs more spec ❌ (score 38/100)");
    expect(text).toContain("- [ ] ❌ **Acceptance criteria**: No target time or measurable outcome.");
    expect(text).toContain("- [x] ✅ **Constraints**: ");
    expect(text).toContain(
      "**Questions that would make this ready:**\n1. Which export is slow: the CSV report or the JSON dump?\n2. How long does it take now",
    );
    expect(text).toContain("Gate cost: $0.02.");
    expect(text).toContain("Expected cost: no history yet for bug tickets (it shows after 3 finished runs).");
    expect(
      text.trimEnd().endsWith("Answers from anyone else count once someone with write access has read them and comments `/retry`."),
    ).toBe(true);
  });

  it("lists the criteria in one fixed order, whatever the verdict's key order", () => {
    const { problem, acceptance_criteria, scope, constraints, test_plan } = ready.criteria;
    const shuffled = { ...ready, criteria: { test_plan, scope, problem, constraints, acceptance_criteria } };
    const labels = [...renderGateComment(input({ verdict: shuffled })).matchAll(/\*\*([A-Z][a-z ]+)\*\*: /g)].map((m) => m[1]);
    expect(labels).toEqual(["Problem", "Acceptance criteria", "Scope", "Constraints", "Test plan"]);
  });

  it("says an unknown gate cost is unknown, never $0", () => {
    const text = renderGateComment(input({ gateCostMicros: null }));
    expect(text).toContain("Gate cost: unknown.");
    expect(text).not.toContain("$0.00");
    // a gate that cost nothing at all is $0.00, which is not the same thing
    expect(renderGateComment(input({ gateCostMicros: 0 }))).toContain("Gate cost: $0.00.");
  });

  it("says where the expected cost comes from: this repository or the installation", () => {
    const text = renderGateComment(
      input({ expected: { scope: "installation", runs: 3, medianMicros: 1_234_500_000, p90Micros: 2_000_000_000 } }),
    );
    expect(text).toContain("median $1,234.50, p90 $2,000.00 (from 3 past runs in this installation).");
  });
});

describe("the config error comment", () => {
  it("names the file and lists every problem (golden)", () => {
    const text = renderConfigError(
      ["`loop.max_iterations`: must be at most 10 (got 50)", "`verify.commands[1]`: expected an array of strings"],
      ".github/tollgate.yml",
    );
    expectGolden("config-error", text);
    expect(text).toContain("`.github/tollgate.yml` is invalid, so nothing was run and nothing was spent:");
    expect(text).toContain(
      "\n- `loop.max_iterations`: must be at most 10 (got 50)\n- `verify.commands[1]`: expected an array of strings\n",
    );
    expect(text.endsWith("Fix the file, then remove and add the label again.")).toBe(true);
  });
});

describe("the failure comment", () => {
  it("says what stopped, why, and how to retry", () => {
    const text = renderFailure("the gate could not read the issue", "The model's answer did not match the verdict's schema three times.");
    expect(text).toBe(
      "### Tollgate stopped: the gate could not read the issue\n\nThe model's answer did not match the verdict's schema three times.\n\nRemove and add the label again to retry.",
    );
  });
});

describe("where a ready run stands", () => {
  it("is next when no run waits for a worker, and says its place behind those that do", () => {
    expect(readyStatus(0)).toBe("ready: planning starts shortly; this comment shows the progress.");
    expect(readyStatus(1)).toMatch(/^ready, and queued: number 2 in line \(1 run waits for a worker ahead of it\)\. /);
    expect(readyStatus(41)).toMatch(/^ready, and queued: number 42 in line \(41 runs wait for a worker ahead of it\)\. /);
    expect(readyStatus(41)).toContain("`/status` says where it is meanwhile");
  });
});
