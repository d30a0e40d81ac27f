import type { DeliveryStore, Delivery } from "./deliveries.js";
import { jobIdForDelivery } from "./job-id.js";
import type { JobQueue } from "./queue.js";
import type { QueueName } from "./jobs.js";

export type EnqueueResult = "enqueued" | "duplicate";

/**
 * Records the delivery and sends its job, once: the same delivery again, also concurrently,
 * finds the delivery recorded and the job id taken, and sends nothing new.
 */
export async function enqueueDelivery<T extends object>(
  deliveries: DeliveryStore,
  queue: JobQueue,
  delivery: Delivery,
  job: { queue: QueueName; data: T },
): Promise<EnqueueResult> {
  const state = await deliveries.record(delivery);
  if (state === "seen") return "duplicate";
  const jobId = jobIdForDelivery(delivery.id);
  const created = await queue.send(job.queue, job.data, jobId);
  await deliveries.markEnqueued(delivery.id, jobId);
  return created ? "enqueued" : "duplicate";
}
