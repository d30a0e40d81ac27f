/**
 * A run is cancelled by another job (label removed, issue closed, `/cancel`), which only marks
 * it in `runs`. The worker running it polls for that mark and aborts the run's signal: in-flight
 * model calls and commands stop, and the phase wrapper ends the run at that point. The same poll
 * hands the run's row to `onRow`, so a budget raised meanwhile applies to the next call.
 */
import type { RunRow, RunStore } from "./runs.js";
import { RunCancelled } from "./phase.js";

export function watchForCancel(runs: RunStore, runId: string, controller: AbortController, intervalMs = 1_000, onRow?: (run: RunRow) => void): () => void {
  const timer = setInterval(() => {
    runs.get(runId).then(
      (run) => {
        if (run) onRow?.(run); // e.g. a budget raised with /budget
        if (run?.status === "cancelled" && !controller.signal.aborted) controller.abort(new RunCancelled("the run was cancelled"));
      },
      () => undefined, // a failed poll is tried again at the next tick
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
