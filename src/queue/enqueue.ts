import type { DeliveryStore, Delivery } from "./deliveries.js";
import { jobIdForDelivery } from "./job-id.js";
import type { JobQueue } from "./queue.js";
import type { QueueName } from "./jobs.js";

export type EnqueueResult = "enqueued" | "duplicate";

/**
 * Records the delivery and sends its job, once: the same delivery again, also concurrently,
 * finds the job id taken and sends nothing new. The two writes go out together (the webhook's
 * answer waits for the slower one, not for both in turn); a job re-sent for a delivery that was
 * handled long ago, after the queue archived its first job, is skipped by the worker, which
 * checks the delivery first.
 */
export async function enqueueDelivery<T extends object>(
  deliveries: DeliveryStore,
  queue: JobQueue,
  delivery: Delivery,
  job: { queue: QueueName; data: T },
): Promise<EnqueueResult> {
  const jobId = jobIdForDelivery(delivery.id);
  const [recorded, sent] = await Promise.all([deliveries.record(delivery, jobId), queue.send(job.queue, job.data, jobId)]);
  return recorded !== "seen" && sent ? "enqueued" : "duplicate";
}
