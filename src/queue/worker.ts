import type { Logger } from "pino";
import type { z } from "zod";
import type { DeliveryStore, DeliveryOutcome } from "./deliveries.js";
import type { JobQueue } from "./queue.js";
import type { QueueName } from "./jobs.js";

export interface JobResult {
  /** `failed` here is a failure handled with intent (the user's input is wrong): not retried. */
  outcome: DeliveryOutcome;
  detail?: string;
}

/**
 * Runs a queue's jobs: validates each job's data, runs the handler and records what became of
 * the delivery. A thrown error is retried by the queue with backoff; on the last try the
 * delivery is marked failed with the error, and the job goes to the dead-letter queue (where
 * `startDeadLetterWorker` also catches jobs that expired or were cut off by a shutdown).
 */
export async function startWorker<S extends z.ZodType<{ deliveryId: string }>>(options: {
  queue: JobQueue;
  deliveries: DeliveryStore;
  log: Logger;
  name: QueueName;
  schema: S;
  concurrency: number;
  pollingIntervalSeconds?: number;
  handle: (data: z.output<S>, log: Logger) => Promise<JobResult>;
}): Promise<void> {
  const { queue, deliveries, name, schema, handle } = options;
  await queue.work<unknown>(
    name,
    options.concurrency,
    async (job) => {
      const parsed = schema.safeParse(job.data);
      const deliveryId = (job.data as { deliveryId?: string } | null)?.deliveryId;
      const log = options.log.child({ job: job.id, queue: name, delivery: deliveryId });
      if (!parsed.success) {
        // Retrying cannot fix the data: record the failure and take the job off the queue.
        const message = `job data does not match the ${name} schema: ${parsed.error.message}`;
        log.error(message);
        if (deliveryId) await deliveries.finish(deliveryId, "failed", message);
        return;
      }
      try {
        const seen = await deliveries.get(parsed.data.deliveryId);
        if (seen && seen.status !== "received") {
          log.info({ status: seen.status }, "delivery already handled; job skipped");
          return;
        }
        const result = await handle(parsed.data, log);
        if (!(await deliveries.finish(parsed.data.deliveryId, result.outcome, result.detail))) {
          log.error({ outcome: result.outcome }, "job finished but its delivery is not recorded");
        }
        log.info({ outcome: result.outcome, detail: result.detail }, "job finished");
      } catch (error) {
        const message = (error as Error).message;
        if (job.lastTry) {
          log.error({ err: error, tries: job.retryCount + 1 }, "job failed on its last try; moved to the dead-letter queue");
          if (deliveryId) await deliveries.finish(deliveryId, "failed", message);
        } else {
          log.warn({ err: error, try: job.retryCount + 1, of: job.retryLimit + 1 }, "job failed; it will be retried");
        }
        throw error;
      }
    },
    options.pollingIntervalSeconds,
  );
}

/**
 * The dead-letter queue's worker: a job lands there after its last failed try, also when that
 * try ended without the handler's say (it expired, or a shutdown cut it off), so its delivery is
 * marked failed here unless the handler already recorded the failure.
 */
export async function startDeadLetterWorker(options: {
  queue: JobQueue;
  deliveries: DeliveryStore;
  log: Logger;
  name: QueueName;
  pollingIntervalSeconds?: number;
}): Promise<void> {
  await options.queue.work<{ deliveryId?: string }>(
    options.name,
    1,
    async (job) => {
      const deliveryId = job.data?.deliveryId;
      if (!deliveryId) return;
      const changed = await options.deliveries.finish(
        deliveryId,
        "failed",
        "the job did not finish on any of its tries (it expired or was stopped before it could record an error)",
        { onlyIfOpen: true },
      );
      if (changed) options.log.error({ delivery: deliveryId, job: job.id }, "job dead-lettered without a recorded error");
    },
    options.pollingIntervalSeconds,
  );
}
