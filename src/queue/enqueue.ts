import type { DeliveryStore, Delivery } from "../stores/deliveries.js";
import { jobIdForDelivery } from "./job-id.js";
import type { JobQueue } from "./queue.js";
import type { QueueName } from "./jobs.js";

export type EnqueueResult = "enqueued" | "duplicate";

/**
 * Records the delivery, then sends its job, once: the same delivery again, also concurrently,
 * finds the job id taken and sends nothing new; one already handled sends nothing at all. The
 * record comes first so that no job ever runs without its delivery row.
 */
export async function enqueueDelivery<T extends object>(
  deliveries: DeliveryStore,
  queue: JobQueue,
  delivery: Delivery,
  job: { queue: QueueName; data: T; debounce?: { key: string; seconds: number }; once?: { key: string; afterSeconds: number } },
): Promise<EnqueueResult> {
  const jobId = jobIdForDelivery(delivery.id);
  if ((await deliveries.record(delivery, job.debounce || job.once ? null : jobId)) === "seen") return "duplicate";
  if (job.once) {
    if (await queue.sendOnce(job.queue, job.data, job.once.key, job.once.afterSeconds)) return "enqueued";
    await deliveries.finish(delivery.id, "ignored", "folded into the job already waiting for the same pull request");
    return "duplicate";
  }
  if (job.debounce) {
    if (await queue.sendDebounced(job.queue, job.data, job.debounce.key, job.debounce.seconds)) return "enqueued";
    await deliveries.finish(delivery.id, "ignored", "debounced: a job for the same issue is already planned");
    return "duplicate";
  }
  return (await queue.send(job.queue, job.data, jobId)) ? "enqueued" : "duplicate";
}
