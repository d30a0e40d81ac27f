import type { PhaseName } from "../../../src/phases/registry.js";
import { formatSpend, renderProgress, type ProgressInput } from "../../../src/report/progress.js";
import type { PhaseCost } from "../../../src/stores/cost-rows.js";
import type { PhaseRecord } from "../../../src/stores/phases.js";
import { expectGolden } from "../../helpers/golden.js";

const t0 = Date.UTC(2025, 4, 12, 9, 30);
let minute = 0;
const phase = (name: PhaseName, iteration: number, status: PhaseRecord["status"], over: Partial<PhaseRecord> = {}): PhaseRecord => ({
  name,
  iteration,
  attempt: 1,
  status,
  error: null,
  started_at: new Date(t0 + minute++ * 60_000),
  finished_at: status === "running" ? null : new Date(t0 + minute * 60_000),
  ...over,
});
const cost = (phase: string, iteration: number, costMicros: number, calls = 1, unknownCalls = 0): PhaseCost => ({
  phase,
  iteration,
  calls,
  costMicros,
  unknownCalls,
});

const longLine = `sandbox: the container exited with signal SIGKILL while running \`npm test\` (out of memory: the limit is 2 GiB) ${"x".repeat(150)}`;

/** A run in its second round: round 1's checks failed; in round 2 verify crashed once and is retried. */
const round2: ProgressInput = {
  title: "working on it",
  gate: "Spec gate: ready ✅ (score 84/100), feature, size S.",
  phases: [
    phase("gate", 0, "succeeded"),
    phase("plan", 0, "succeeded"),
    phase("execute", 1, "failed", {
      error: "Anthropic API error 529: Overloaded\n    at MeteredModel.call (src/llm/metered-model.ts:88:11)",
    }),
    phase("execute", 1, "succeeded", { attempt: 2 }),
    phase("verify", 1, "succeeded"),
    phase("execute", 2, "succeeded"),
    phase("verify", 2, "failed", { error: `${longLine}\nstderr:\n  npm ERR! code ELIFECYCLE` }),
    phase("review", 2, "running"),
  ],
  costs: [
    cost("gate", 0, 63_125),
    cost("plan", 0, 184_500, 3),
    cost("execute", 1, 912_300, 14),
    cost("verify", 1, 11_000, 2),
    cost("execute", 2, 405_000, 9, 1),
    cost("verify", 2, 0, 1, 1),
  ],
  budgetMicros: 5_000_000,
  footer: ["> [!WARNING]", "> **Commands are disabled.** The agents cannot run commands.", "", "Cancel with `/tollgate cancel`."],
};

describe("the progress comment", () => {
  it("renders a run in round 2: the latest attempt per phase and round, costs, unknown calls, budget, footer (golden)", () => {
    const text = renderProgress(round2);
    expectGolden("progress-round-2", text);
    const items = text.split("\n").filter((l) => l.startsWith("- "));
    expect(items).toEqual([
      "- ✅ plan · $0.1845",
      "- ✅ execute (round 1) · $0.9123", // the retried attempt, not the failed one, in the first attempt's place
      "- ✅ verify (round 1) · $0.0110", // under $1 and not whole cents: 4 decimals
      "- ✅ execute (round 2) · $0.4050 + 1 call of unknown cost",
      `- ❌ verify (round 2) · $0.00 + 1 call of unknown cost: ${longLine.slice(0, 200)}`,
      "- ⏳ review (round 2)",
    ]);
  });

  it("shows the gate's line but not the gate as a phase", () => {
    const text = renderProgress(round2);
    expect(text.startsWith("### Tollgate: working on it\n\nSpec gate: ready ✅ (score 84/100), feature, size S.\n\n- ")).toBe(true);
    expect(text).not.toMatch(/^- .* gate/m);
  });

  it("shows a failed phase's first line only, cut at 200 characters", () => {
    const text = renderProgress(round2);
    expect(text).not.toContain("npm ERR!");
    expect(text).not.toContain("x".repeat(151));
    expect(text).not.toContain("at MeteredModel.call");
  });

  it("spends the gate and every round in the total, against the budget", () => {
    const text = renderProgress(round2);
    // 63,125 + 184,500 + 912,300 + 11,000 + 405,000 = 1,575,925 µ$
    expect(text).toContain("\nSpent: $1.58 + 2 calls of unknown cost of the $5.00 budget.\n");
  });

  it("leaves out the budget when there is none, and the footer when it is empty", () => {
    const text = renderProgress({
      title: "cancelled",
      phases: [phase("plan", 0, "cancelled")],
      costs: [cost("plan", 0, 40_000)],
      budgetMicros: null,
      footer: [],
    });
    expect(text).toBe("### Tollgate: cancelled\n\n- ⏹️ plan · $0.04\n\nSpent: $0.04.");
  });

  it("shows a phase with no ledger row without a cost, and a failed phase with no error without a colon", () => {
    const text = renderProgress({
      title: "t",
      phases: [phase("checkout", 0, "succeeded"), phase("publish", 0, "failed")],
      costs: [],
      budgetMicros: 0,
    });
    expect(text).toContain("\n- ✅ checkout\n- ❌ publish\n");
    expect(text.endsWith("Spent: $0.00.")).toBe(true);
  });
});

describe("formatSpend", () => {
  it("sums known costs and counts unknown calls, singular and plural", () => {
    expect(formatSpend([])).toBe("$0.00");
    expect(formatSpend([{ costMicros: 420_000, unknownCalls: 0 }])).toBe("$0.42");
    expect(formatSpend([{ costMicros: 15_500, unknownCalls: 0 }])).toBe("$0.0155");
    expect(formatSpend([{ costMicros: 420_000, unknownCalls: 1 }])).toBe("$0.42 + 1 call of unknown cost");
    expect(
      formatSpend([
        { costMicros: 400_000, unknownCalls: 2 },
        { costMicros: 20_000, unknownCalls: 1 },
      ]),
    ).toBe("$0.42 + 3 calls of unknown cost");
    expect(formatSpend([{ costMicros: 0, unknownCalls: 2 }])).toBe("$0.00 + 2 calls of unknown cost");
  });
});
