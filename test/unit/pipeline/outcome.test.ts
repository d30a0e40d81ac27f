/** One mapping from a run's outcome to its status, which the app, `tollgate run` and `tollgate eval` share. */
import { describe as describeOutcome } from "../../../src/pipeline/carry-out.js";
import type { RunOutcome } from "../../../src/pipeline/orchestrator.js";
import { runStatus } from "../../../src/pipeline/outcome.js";

const published = { number: 100, url: "https://github.com/o/r/pull/100" } as never;
const state = {} as never;

describe("runStatus", () => {
  it.each<[string, RunOutcome, string]>([
    ["checks and review passed", { status: "passed", published, draft: false, state }, "succeeded"],
    ["a draft: the review still asks for changes", { status: "max_iterations", published, draft: true, reason: "r", state }, "draft"],
    ["a draft of what the budget allowed", { status: "budget", published, draft: true, reason: "r", state }, "stopped"],
    ["stopped by the budget before anything to publish", { status: "budget", reason: "the budget is spent" }, "stopped"],
    ["someone else's commits on the branch", { status: "human_commits", reason: "commits by ada" }, "failed"],
    ["cancelled", { status: "cancelled", reason: "the run was cancelled" }, "cancelled"],
  ])("%s → %s", (_what, outcome, status) => {
    expect(runStatus(outcome)).toBe(status);
    // the app's sticky comment records the same status
    expect(describeOutcome(outcome).status).toBe(status);
  });
});
