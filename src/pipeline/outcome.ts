/**
 * A run's outcome as its status: one mapping for the app (src/pipeline/carry-out.ts),
 * `tollgate run` and `tollgate eval` (src/app/local-run.ts), so that the three record the same run the
 * same way.
 */
import type { RunStatus } from "../stores/runs.js";
import type { RunOutcome } from "./orchestrator.js";

export function runStatus(outcome: RunOutcome): RunStatus {
  // a pull request was opened or updated: ready, or a draft (stopped, when the budget ended the run)
  if ("published" in outcome) return !outcome.draft ? "succeeded" : outcome.status === "budget" ? "stopped" : "draft";
  switch (outcome.status) {
    case "cancelled":
      return "cancelled";
    // someone else's commits on the branch: Tollgate never pushes over them, and the run cannot end
    case "human_commits":
      return "failed";
    // stopped by the budget before anything was worth publishing
    case "budget":
      return "stopped";
  }
}
