/**
 * Resume within a minute: every worker process looks, every RUN_SWEEP_SECONDS, for running runs
 * whose heartbeat stopped (their worker died, or stalled) and takes each over: the run gets a
 * new restart number (the stalled worker, if alive, loses its lease and stops) and a new job,
 * which resumes it at its first unfinished phase. The take-over is one UPDATE, so two sweeping
 * processes never take the same run twice.
 *
 * Restarts are capped (MAX_RESTARTS in src/stores/runs.ts): a run whose worker stopped twice is
 * not resumed, since what stopped the worker (a setup that exhausted the machine) would stop the
 * next one too. Its new job only fails it with the reason on the issue (src/pipeline/carry-out.ts
 * checks `notResumed` before the pipeline); a run whose job to say so stopped as well is failed
 * here, in its row.
 */
import type { Logger } from "pino";
import { jobIdForRun } from "../queue/job-id.js";
import { QUEUE, type RunJob } from "../queue/jobs.js";
import type { JobQueue } from "../queue/queue.js";
import { MAX_RESTARTS, notResumed, type RunStore } from "../stores/runs.js";

export async function sweepStalledRuns(deps: { runs: RunStore; queue: JobQueue; log: Logger }, staleSeconds: number): Promise<string[]> {
  const taken = await deps.runs.takeOverStale(staleSeconds);
  for (const { id, restarts } of taken) {
    const stopped = notResumed(restarts);
    if (restarts > MAX_RESTARTS + 1) {
      // the job that was to fail it on the issue stopped too: the run's row says why
      deps.log.error({ run: id, restart: restarts }, `run ${id}: ${stopped}`);
      await deps.runs.failIfCurrent(id, restarts, stopped!);
      continue;
    }
    const previous = await deps.queue.job(QUEUE.run, jobIdForRun(id, restarts - 1));
    const data = previous?.data as RunJob | undefined;
    if (!data) {
      deps.log.error({ run: id }, "a stalled run's job is gone: the run cannot be resumed and is marked failed");
      await deps.runs.failIfCurrent(id, restarts, stopped ?? "its worker stopped and its job could not be found to resume it");
      continue;
    }
    // the same job but for its restart: the gate's trace context (`trace`), if any, goes along,
    // so the resumed run stays in the run's trace
    await deps.queue.send(QUEUE.run, { ...data, restart: restarts }, jobIdForRun(id, restarts));
    if (stopped) deps.log.error({ run: id, restart: restarts }, `run ${id}: ${stopped} (a new job fails it on the issue)`);
    else
      deps.log.warn(
        { run: id, restart: restarts },
        `run ${id}: its worker's heartbeat stopped for ${staleSeconds} s; a new job resumes it`,
      );
  }
  return taken.map((t) => t.id);
}
