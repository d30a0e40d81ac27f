/**
 * The PR body beyond what pr-body.test.ts pins (neutralising what a model wrote, Tollgate's own
 * text on a passing run): a whole draft body as a golden file, and each branch of the renderer.
 */
import type { ExecuteOutput } from "../../../src/phases/execute/execute.js";
import type { Plan } from "../../../src/phases/plan/plan-schema.js";
import type { Review } from "../../../src/phases/review/review.js";
import type { VerifyOutput } from "../../../src/phases/verify/verify.js";
import { PR_MARKER, renderPrBody, type PrBodyInput } from "../../../src/report/pr-body.js";
import type { PhaseCost } from "../../../src/stores/cost-rows.js";
import { expectGolden } from "../../helpers/golden.js";

const plan: Plan = {
  summary:
    "Stream the CSV export row by row instead of building the whole file in memory, so that exports of 1M rows finish in under 30 seconds.",
  steps: [
    "Replace `buildCsv()` in src/export/csv.ts with a generator that yields one line per row.",
    "Pipe the generator into the HTTP response in src/routes/export.ts, with `Content-Disposition: attachment`.",
    "Add a test that exports 100,000 rows and checks the first and last lines.",
  ],
  files: ["src/export/csv.ts", "src/routes/export.ts", "test/export.test.ts"],
  work_units: [
    { id: "stream", title: "Streaming CSV writer", instructions: "Turn buildCsv into a generator.", files: ["src/export/csv.ts"] },
    { id: "route", title: "Export route", instructions: "Pipe the generator.", files: ["src/routes/export.ts"] },
    { id: "tests", title: "Export test", instructions: "Test 100k rows.", files: ["test/export.test.ts"] },
  ],
  test_strategy: "Run `npm test`; the new test times the export of 100,000 rows.",
  acceptance_checks: ["Exporting 1M rows finishes in under 30 seconds", "The CSV's header and quoting are unchanged"],
};

const execute: ExecuteOutput = {
  units: [
    {
      id: "stream",
      title: "Streaming CSV writer",
      summary: "Rewrote buildCsv as `streamCsv()`, a generator.\nQuoting still goes through `quoteField()`.",
      changed: true,
    },
    {
      id: "route",
      title: "Export route",
      summary: "Piped streamCsv into the response with `Readable.from`.",
      changed: true,
      conflicts: ["src/export/csv.ts"],
    },
    { id: "tests", title: "Export test", summary: "The existing test already covers the header; nothing to add.", changed: false },
  ],
  patch: "diff --git a/src/export/csv.ts b/src/export/csv.ts\n",
  changedFiles: ["src/export/csv.ts", "src/routes/export.ts"],
};

const verify: VerifyOutput = {
  passed: false,
  checks: [
    { argv: ["npm", "run", "lint"], exitCode: 0, timedOut: false, durationMs: 4_300, excerpt: "" },
    {
      argv: ["npm", "test", "--", "--grep", "export|csv"],
      exitCode: 1,
      timedOut: false,
      durationMs: 61_500,
      excerpt: "✗ exports 100,000 rows\n  expected 100001 lines, got 100000",
    },
    { argv: ["npm", "run", "e2e"], exitCode: null, timedOut: true, durationMs: 300_000, excerpt: "" },
  ],
  triage: {
    summary: "The generator drops the last row:\nthe loop stops at `rows.length - 1`.",
    findings: [{ file: "src/export/csv.ts", line: 42, problem: "Off by one in the loop bound.", fix: "Loop to rows.length." }],
  },
};

const costTable = [
  "| Phase | Model | Calls | Input | Cache write | Cache read | Output | Cost (USD) | Time |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  "| gate | claude-opus-4-7 | 1 | 3,000 | 4,500 | 0 | 800 | $0.0631 | 9.2s |",
  "| plan | claude-opus-4-7 | 3 | 6,000 | 0 | 30,000 | 2,500 | $0.1075 | 47.0s |",
  "| execute | claude-sonnet-4-6 | 30 | 45,000 | 18,000 | 520,000 | 26,000 | $0.8190 | 6m 40s |",
  "| verify | claude-haiku-4-5 | 3 | 12,000 | 0 | 0 | 900 | $0.0165 | 4.6s |",
  "| **Total** | | **37** | **66,000** | **22,500** | **550,000** | **30,200** | **$1.0061** | **7m 41s** |",
  "",
  "```mermaid",
  "pie showData title Cost by phase (USD)",
  '    "gate" : 0.0631',
  '    "plan" : 0.1075',
  '    "execute" : 0.8190',
  '    "verify" : 0.0165',
  "```",
].join("\n");

const cost = (phase: string, iteration: number, costMicros: number, unknownCalls = 0): PhaseCost => ({
  phase,
  iteration,
  calls: 1,
  costMicros,
  unknownCalls,
});
const costs: PhaseCost[] = [
  cost("gate", 0, 63_100),
  cost("plan", 0, 107_500),
  cost("execute", 1, 300_000),
  cost("verify", 1, 5_500),
  cost("execute", 2, 280_000),
  cost("verify", 2, 5_500),
  cost("execute", 3, 239_000, 1),
  cost("verify", 3, 5_500),
  cost("publish", 3, 1_000_000), // not a round phase: left out of the rounds
];

const draft: PrBodyInput = {
  issueNumber: 42,
  draftReason: "the checks still fail after 3 rounds (loop.max_iterations).",
  plan,
  execute,
  verify,
  costTable,
  costs,
  iterations: 3,
  dropped: [{ path: "node_modules/.cache/x`y", why: "a path the repository ignores" }],
};

const body = (over: Partial<PrBodyInput> = {}) => renderPrBody({ ...draft, ...over });
const section = (text: string, heading: string) => text.split(`## ${heading}\n\n`)[1]!.split("\n## ")[0]!;

describe("the PR body of a draft", () => {
  it("renders the whole body: warning, summary, units, plan, not published, checks, triage, no review, cost, rounds (golden)", () => {
    const text = body();
    expectGolden("pr-body-draft", text);
    expect(
      text.startsWith(
        `${PR_MARKER}\n> [!WARNING]\n> **Draft: the checks still fail after 3 rounds (loop.max_iterations).** Review it as work in progress.\n\n## Summary\n`,
      ),
    ).toBe(true);
    expect(text.endsWith("\n\nCloses #42")).toBe(true);
  });

  it("says per unit what it did on one line, which changed nothing and which was redone after a conflict", () => {
    const text = body();
    expect(text).toContain(
      "- **Streaming CSV writer**: Rewrote buildCsv as `streamCsv()`, a generator. Quoting still goes through `quoteField()`.\n",
    );
    expect(text).toContain(
      "- **Export route**: Piped streamCsv into the response with `Readable.from`. _(redone after a conflict in src/export/csv.ts)_\n",
    );
    expect(text).toContain("- **Export test** (no change): The existing test already covers the header; nothing to add.\n");
    expect(text).toContain("Files changed: `src/export/csv.ts`, `src/routes/export.ts`.");
  });

  it("lists each check's result, a timeout as such, with `|` escaped so the table holds", () => {
    const rows = section(body(), "Verification")
      .split("\n")
      .filter((l) => l.startsWith("| `"));
    expect(rows).toEqual([
      "| `npm run lint` | ✅ passed | 4.3s |",
      "| `npm test -- --grep export\\|csv` | ❌ exit 1 | 1m 2s |",
      "| `npm run e2e` | ❌ timed out | 5m 0s |",
    ]);
    expect(section(body(), "Verification")).toContain("**Triage:** The generator drops the last row: the loop stops at `rows.length - 1`.");
  });

  it("says a change that was not published, with the backtick in its path made harmless", () => {
    expect(section(body(), "Not published")).toContain("- `node_modules/.cache/x'y`: a path the repository ignores");
    expect(body({ dropped: [] })).not.toContain("## Not published");
  });

  it("says why there was no review", () => {
    expect(section(body(), "Review")).toBe("Not reviewed: the checks did not pass, so no review was paid for.\n");
  });

  it("costs each round over execute, verify and review only, a round with unknown calls said so", () => {
    expect(body()).toContain(
      "\nCost per round (execute + verify + review): round 1: $0.3055 · round 2: $0.2855 · round 3: $0.2445 + 1 call of unknown cost.\n",
    );
    // a round with no ledger rows is $0.00, not left out
    expect(body({ costs: [cost("execute", 2, 100_000)], iterations: 2 })).toContain("round 1: $0.00 · round 2: $0.10.");
    expect(body({ iterations: 0 })).not.toContain("Cost per round");
  });
});

describe("the PR body's other branches", () => {
  it("says the checks were not run, and why", () => {
    expect(section(body({ verify: undefined }), "Verification")).toBe("Not run.\n");
    expect(section(body({ verify: { passed: false, checks: [], notRun: "commands are disabled: no sandbox" } }), "Verification")).toBe(
      "Not run: commands are disabled: no sandbox.\n",
    );
    // nothing configured or detected: said, and not called a pass
    expect(section(body({ verify: { passed: true, checks: [] } }), "Verification")).toBe(
      "**Nothing was checked**: no `verify.commands` are configured in `.github/tollgate.yml` and Tollgate detected no test command, so no check ran. This is not a pass.\n",
    );
  });

  it("says a check that already failed before the change as such, and that it did not hold the PR back", () => {
    const before = { argv: ["npm", "run", "e2e"], exitCode: 3, timedOut: false, durationMs: 1_000, excerpt: "down", preexisting: true };
    const text = section(body({ verify: { passed: true, checks: [before] } }), "Verification");
    expect(text).toContain("| `npm run e2e` | ❌ exit 3, already failing before the change | 1.0s |");
    expect(text).toContain(
      "Checks marked _already failing before the change_ fail on the base commit too, so this change did not cause them; they did not hold the pull request back.",
    );
  });

  it("says why there was no review when none could be had", () => {
    const review = {
      findings: [],
      summary: "x",
      verdict: "request_changes" as const,
      unavailable: "the reviewer's answer was cut off at the output limit twice",
    };
    expect(section(body({ review }), "Review")).toBe("Not reviewed: the reviewer's answer was cut off at the output limit twice.\n");
  });

  it("says a check refused before it ran as exit none", () => {
    const text = body({
      verify: { passed: false, checks: [{ argv: ["make", "check"], exitCode: null, timedOut: false, durationMs: 0, excerpt: "refused" }] },
    });
    expect(text).toContain("| `make check` | ❌ exit none | 0.0s |");
    expect(text).not.toContain("**Triage:**");
  });

  it("lists the review's blocking findings, with the line when there is one, then its suggestions in their own section", () => {
    const review: Review = {
      verdict: "request_changes",
      summary: "Streaming works, but the route loses errors.",
      findings: [
        { file: "src/routes/export.ts", line: 18, severity: "blocking", body: "An error in the generator\nleaves the response hanging." },
        { file: "README.md", line: 0, severity: "suggestion", body: "Mention the new limit." },
      ],
    };
    expect(section(body({ review }), "Review")).toBe(
      [
        "**Changes requested ❌**: Streaming works, but the route loses errors.",
        "- `src/routes/export.ts:18` (blocking): An error in the generator leaves the response hanging.",
        "",
        "### Suggestions from the review",
        "",
        "Not required, and not worked on by Tollgate:",
        "- `README.md`: Mention the new limit.",
        "",
      ].join("\n"),
    );
  });

  it("has no warning when it is not a draft, and no Closes line without an issue (a local run)", () => {
    const text = body({ draftReason: undefined, issueNumber: undefined, plan: { ...plan, summary: "Streams the export. Fixes #42." } });
    expect(text.startsWith(`${PR_MARKER}\n## Summary\n\nStreams the export. Refs #42.`)).toBe(true);
    expect(text).not.toContain("[!WARNING]");
    expect(text).not.toMatch(/Closes #/);
  });

  it("says no file changed when none did", () => {
    expect(body({ execute: { units: [], patch: "", changedFiles: [] } })).toContain("Files changed: none.");
    expect(body({ execute: undefined })).not.toContain("Files changed");
  });

  it("masks a secret a model wrote", () => {
    const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    const text = body({
      execute: { ...execute, units: [{ id: "x", title: "Config", summary: `Used the token ${token} to test.`, changed: true }] },
    });
    expect(text).not.toContain(token);
    expect(text).toContain("[redacted GitHub token]");
  });

  it("keeps one paragraph of a unit's summary to 1,500 characters", () => {
    const text = body({ execute: { ...execute, units: [{ id: "x", title: "Long", summary: "word ".repeat(1_000), changed: true }] } });
    const line = text.split("\n").find((l) => l.startsWith("- **Long**"))!;
    expect(line.length).toBe("- **Long**: ".length + 1_500);
  });
});
