/**
 * The dead-letter queue: a job lands there after its last failed try, also when that try ended
 * without the handler's say (it expired, or a shutdown cut it off). Its delivery is marked
 * failed here unless the handler already recorded the failure; a run's job that died marks the
 * run failed, so the issue can have a new one.
 */
import type { Logger } from "pino";
import type { DeliveryStore } from "../stores/deliveries.js";
import type { RunStore } from "../stores/runs.js";

export async function handleDead(
  job: { id: string; data: { deliveryId?: string; runId?: string; restart?: number } | null },
  deps: { deliveries: DeliveryStore; runs: RunStore },
  log: Logger,
): Promise<void> {
  const runId = job.data?.runId;
  // unless a newer job took the run over meanwhile
  if (runId) await deps.runs.failIfCurrent(runId, job.data?.restart ?? 0, "the run's job did not finish on any of its tries");
  const deliveryId = job.data?.deliveryId;
  if (!deliveryId) return;
  // a trigger or command job that died in its gate: the run it made is failed, so the issue can have a new one
  if (!runId) await deps.runs.failGate(deliveryId, "the spec gate's job did not finish on any of its tries");
  const changed = await deps.deliveries.finish(
    deliveryId,
    "failed",
    "the job did not finish on any of its tries (it expired or was stopped before it could record an error)",
    { onlyIfOpen: true },
  );
  if (changed) log.error({ delivery: deliveryId, job: job.id }, "job dead-lettered without a recorded error");
}
