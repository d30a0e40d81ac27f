import type { Logger } from "pino";
import type { z } from "zod";
import type { DeliveryStore, DeliveryOutcome } from "../stores/deliveries.js";
import type { JobQueue } from "./queue.js";
import type { QueueName } from "./jobs.js";

export interface JobResult {
  /** `failed` here is a failure handled with intent (the user's input is wrong): not retried. */
  outcome: DeliveryOutcome;
  detail?: string;
}

/** How a queue's jobs are known to be handled: by their delivery (default) or otherwise. */
export interface JobTracking<T> {
  /** Why the job has nothing left to do (it was handled already), or undefined. */
  handled(data: T): Promise<string | undefined>;
  finish(data: T, result: JobResult): Promise<void>;
  /** The last try failed with `message`. */
  failed(data: T, message: string): Promise<void>;
}

export function deliveryTracking(deliveries: DeliveryStore, log: Logger): JobTracking<{ deliveryId: string }> {
  return {
    async handled(data) {
      const seen = await deliveries.get(data.deliveryId);
      return seen && seen.status !== "received" ? `delivery already ${seen.status}` : undefined;
    },
    async finish(data, result) {
      if (!(await deliveries.finish(data.deliveryId, result.outcome, result.detail)))
        log.error({ outcome: result.outcome }, "job finished but its delivery is not recorded");
    },
    async failed(data, message) {
      await deliveries.finish(data.deliveryId, "failed", message);
    },
  };
}

/**
 * Runs a queue's jobs: validates each job's data, runs the handler and records what became of
 * it (by default on its delivery). A thrown error is retried by the queue with backoff; on the
 * last try the failure is recorded, and the job goes to the dead-letter queue (where
 * src/jobs/dead.ts also catches jobs that expired or were cut off by a shutdown).
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
  track?: JobTracking<z.output<S>>;
}): Promise<void> {
  const { queue, deliveries, name, schema, handle } = options;
  await queue.work<unknown>(
    name,
    options.concurrency,
    async (job) => {
      const parsed = schema.safeParse(job.data);
      const deliveryId = (job.data as { deliveryId?: string } | null)?.deliveryId;
      const log = options.log.child({ job: job.id, queue: name, delivery: deliveryId });
      const track = options.track ?? deliveryTracking(deliveries, log);
      if (!parsed.success) {
        // Retrying cannot fix the data: record the failure and take the job off the queue.
        const message = `job data does not match the ${name} schema: ${parsed.error.message}`;
        log.error(message);
        if (deliveryId) await deliveries.finish(deliveryId, "failed", message);
        return;
      }
      try {
        const handled = await track.handled(parsed.data);
        if (handled) {
          log.info({ why: handled }, "job already handled; skipped");
          return;
        }
        const result = await handle(parsed.data, log);
        await track.finish(parsed.data, result);
        log.info({ outcome: result.outcome, detail: result.detail }, "job finished");
      } catch (error) {
        const message = (error as Error).message;
        if (job.lastTry) {
          log.error({ err: error, tries: job.retryCount + 1 }, "job failed on its last try; moved to the dead-letter queue");
          await track.failed(parsed.data, message);
        } else {
          log.warn({ err: error, try: job.retryCount + 1, of: job.retryLimit + 1 }, "job failed; it will be retried");
        }
        throw error;
      }
    },
    options.pollingIntervalSeconds,
  );
}
