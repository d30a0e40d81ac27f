import { describe as describeOutcome } from "../../../src/pipeline/carry-out.js";
import type { PublishState, RunOutcome } from "../../../src/pipeline/orchestrator.js";

const state: PublishState = {
  plan: {
    summary: "Say Hi.",
    steps: ["Change the greeting."],
    files: ["src/greet.js"],
    work_units: [{ id: "greet", title: "Greeting", instructions: "Say Hi.", files: ["src/greet.js"] }],
    test_strategy: "npm test",
    acceptance_checks: ["greet says Hi"],
  },
  iterations: 2,
};
const published = { url: "https://github.com/octo/app/pull/12", number: 12, commit: "4f2c9a1e7b3d5c6f8a9b0c1d2e3f4a5b6c7d8e9f" };

describe("describe(outcome): a run's outcome as its status, title and footer", () => {
  it("a passed run: succeeded, the PR ready for review", () => {
    expect(describeOutcome({ status: "passed", published, draft: false, state })).toEqual({
      status: "succeeded",
      title: "pull request #12 is ready for review",
      detail: "pull request #12: checks and review passed",
      footer: ["Pull request: #12."],
    });
  });

  it.each(["max_iterations", "no_progress", "unverified"] as const)("a %s run: a draft, with why", (status) => {
    const reason = "the checks still fail after 3 rounds (loop.max_iterations).";
    expect(describeOutcome({ status, published, draft: true, reason, state })).toEqual({
      status: "draft",
      title: "draft pull request #12",
      detail: `draft pull request #12: ${reason}`,
      footer: [`Draft pull request: #12. **Why a draft:** ${reason}`],
    });
  });

  it("a draft without a reason says its status", () => {
    const d = describeOutcome({ status: "no_progress", published, draft: true, state });
    expect(d.footer).toEqual(["Draft pull request: #12. **Why a draft:** no_progress"]);
    expect(d.detail).toBe("draft pull request #12: no_progress");
  });

  it("a run the budget stopped after publishing its work: stopped (not draft), with the draft PR", () => {
    const reason = "the budget stopped the run: budget $5.00 reached in execute (round 2)";
    const d = describeOutcome({ status: "budget", published, draft: true, reason, state });
    expect(d.status).toBe("stopped");
    expect(d.title).toBe("draft pull request #12");
    expect(d.footer).toEqual([`Draft pull request: #12. **Why a draft:** ${reason}`]);
  });

  it("a run the budget stopped before anything was changed: stopped, no PR", () => {
    const outcome: RunOutcome = {
      status: "budget",
      reason: "budget $1.00 reached in plan: $0.98 spent, and the next call could cost up to $0.30",
    };
    expect(describeOutcome(outcome)).toEqual({
      status: "stopped",
      title: "stopped by the budget",
      detail: outcome.reason,
      footer: [`**Why:** ${outcome.reason}`, "", "Nothing was changed yet, so no pull request was opened."],
    });
  });

  it("a cancelled run", () => {
    const d = describeOutcome({ status: "cancelled", reason: "cancelled by @ada" });
    expect(d.status).toBe("cancelled");
    expect(d.title).toBe("cancelled");
    expect(d.footer).toEqual(["The run was cancelled: no pull request was opened. What it spent is above."]);
  });

  it("a branch with someone else's commits: failed, and Tollgate never pushes over them", () => {
    const reason = "tollgate/issue-7 has commits by someone else (ada@example.com), so revisions no longer push there";
    expect(describeOutcome({ status: "human_commits", reason })).toEqual({
      status: "failed",
      title: "stopped: the branch has someone else's commits",
      detail: reason,
      footer: [`**Why:** ${reason}.`, "", "Tollgate never pushes over commits that are not its own."],
    });
  });

  it("names a PR that has no number as the pull request", () => {
    const d = describeOutcome({ status: "max_iterations", published: { commit: published.commit }, draft: true, reason: "r.", state });
    expect(d.footer).toEqual(["Draft pull request: the pull request. **Why a draft:** r."]);
  });
});
