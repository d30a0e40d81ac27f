/**
 * Resume within a minute: every worker process looks, every RUN_SWEEP_SECONDS, for running runs
 * whose heartbeat stopped (their worker died, or stalled) and takes each over: the run gets a
 * new restart number (the stalled worker, if alive, loses its lease and stops) and a new job,
 * which resumes it at its first unfinished phase. The take-over is one UPDATE, so two sweeping
 * processes never take the same run twice.
 */
import type { Logger } from "pino";
import { jobIdForRun } from "../queue/job-id.js";
import { QUEUE, type RunJob } from "../queue/jobs.js";
import type { JobQueue } from "../queue/queue.js";
import type { RunStore } from "../stores/runs.js";

export async function sweepStalledRuns(deps: { runs: RunStore; queue: JobQueue; log: Logger }, staleSeconds: number): Promise<string[]> {
  const taken = await deps.runs.takeOverStale(staleSeconds);
  for (const { id, restarts } of taken) {
    const previous = await deps.queue.job(QUEUE.run, jobIdForRun(id, restarts - 1));
    const data = previous?.data as RunJob | undefined;
    if (!data) {
      deps.log.error({ run: id }, "a stalled run's job is gone: the run cannot be resumed and is marked failed");
      await deps.runs.failIfCurrent(id, restarts, "its worker stopped and its job could not be found to resume it");
      continue;
    }
    // the same job but for its restart: the gate's trace context (`trace`), if any, goes along,
    // so the resumed run stays in the run's trace
    await deps.queue.send(QUEUE.run, { ...data, restart: restarts }, jobIdForRun(id, restarts));
    deps.log.warn({ run: id, restart: restarts }, `run ${id}: its worker's heartbeat stopped for ${staleSeconds} s; a new job resumes it`);
  }
  return taken.map((t) => t.id);
}
