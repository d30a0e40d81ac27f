/**
 * Cancelling a run, and the worker's watch over the run it carries out. Another job (label
 * removed, issue closed, `/cancel`, the PR closed) only marks the run cancelled and says so on
 * the issue. The worker running it beats every second (the run's heartbeat, under its lease),
 * and each beat reads the run's row: a cancel aborts the run's signal (in-flight model calls and
 * commands stop, and the phase wrapper ends the run at that point); a budget raised meanwhile
 * applies to the next call; a lease taken over (the worker was stalled past the heartbeat's
 * threshold and another took the run, src/jobs/run-sweep.ts) aborts with `RunTakenOver`, and
 * this worker lets the run go without a word.
 */
import { formatUsd } from "../llm/money.js";
import type { Ledger } from "../stores/ledger.js";
import type { RunRow, RunStore } from "../stores/runs.js";
import type { IssueContext } from "./issue-context.js";
import { RunCancelled, RunTakenOver } from "./phase.js";

export { RunTakenOver } from "./phase.js";

/** Marks the run cancelled (its worker stops at the next safe point) and says so on the issue. */
export async function cancelActiveRun(
  ctx: IssueContext,
  deps: { runs: RunStore; ledger: Ledger },
  runId: string,
  why: string,
  next: string,
): Promise<void> {
  await deps.runs.setStatus(runId, "cancelled");
  const spent = await deps.ledger.spent({ runId });
  await ctx.gh.upsertSticky(
    ctx.issue,
    `### Tollgate: cancelled\n\nThe run was cancelled: ${why}. Nothing more will be spent (spent: ${formatUsd(spent.micros)}). ${next}`.trimEnd(),
  );
}

/** Beats for the run under `lease` every `intervalMs` until the returned function is called. */
export function watchRun(
  runs: RunStore,
  runId: string,
  lease: string,
  controller: AbortController,
  intervalMs = 1_000,
  onRow?: (run: RunRow) => void,
): () => void {
  const timer = setInterval(() => {
    runs.beat(runId, lease).then(
      (run) => {
        if (controller.signal.aborted) return;
        if (!run) return controller.abort(new RunTakenOver("another worker took the run over"));
        onRow?.(run); // e.g. a budget raised with /budget
        if (run.status === "cancelled") controller.abort(new RunCancelled("the run was cancelled"));
      },
      () => undefined, // a failed beat is tried again at the next tick
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
