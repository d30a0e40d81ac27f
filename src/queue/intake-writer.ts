/**
 * The webhook path's writes, committed in groups. Each delivery that Tollgate acts on costs a
 * delivery row and a job; in a burst, one statement for many rows costs about what one row does
 * (on the embedded database, 2–3 ms a delivery one at a time against 0.2 ms in tens: bench
 * notes in docs/benchmarks.md). The deliveries that arrive while a group is being written form
 * the next group, so an idle server writes each delivery at once, as before, and a busy one
 * writes them together. The order of `enqueueDelivery` is kept: every delivery row is written
 * before its job, and a delivery already handled sends no job.
 */
import type { Logger } from "pino";
import type { Delivery, DeliveryStore } from "../stores/deliveries.js";
import { enqueueDelivery, type EnqueueResult } from "./enqueue.js";
import { jobIdForDelivery } from "./job-id.js";
import type { QueueName } from "./jobs.js";
import type { JobQueue } from "./queue.js";

interface Pending {
  delivery: Delivery;
  queue: QueueName;
  data: object;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

/** Larger groups wait for the next statement: a statement's parameters stay small. */
const MAX_GROUP = 200;

export class IntakeWriter {
  #waiting: Pending[] = [];
  #writing = false;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly queue: JobQueue,
    private readonly log: Logger,
  ) {}

  /** Records the delivery and sends its job (with the delivery's job id), in the next group. */
  enqueue(delivery: Delivery, job: { queue: QueueName; data: object }): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ delivery, ...job, resolve, reject });
      if (this.#writing) return;
      this.#writing = true;
      setImmediate(() => void this.#drain());
    });
  }

  /**
   * Writes the waiting deliveries, a group at a time. Each group is taken after the requests
   * that are ready have been read (setImmediate runs after the event loop's I/O callbacks): on the
   * embedded database a statement runs on this thread, so without that pause the deliveries that
   * arrived during a write would only be read after the next one had started, one by one.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const group = this.#waiting.splice(0, MAX_GROUP);
        await this.#write(group);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(group: Pending[]): Promise<void> {
    try {
      const answers = await this.deliveries.recordMany(
        group.map((p) => ({ delivery: p.delivery, jobId: jobIdForDelivery(p.delivery.id) })),
      );
      const send = group.filter((_, i) => answers[i] === "send");
      for (const name of new Set(send.map((p) => p.queue))) {
        await this.queue.sendMany(
          name,
          send.filter((p) => p.queue === name).map((p) => ({ data: p.data, id: jobIdForDelivery(p.delivery.id) })),
        );
      }
      group.forEach((p, i) => p.resolve(answers[i] === "send" ? "enqueued" : "duplicate"));
    } catch (error) {
      if (group.length === 1) return group[0]!.reject(error);
      // one bad delivery must not fail the others: each is written alone, and fails alone
      this.log.warn({ err: error, deliveries: group.length }, "a group of webhook writes failed: writing them one by one");
      for (const p of group) {
        await enqueueDelivery(this.deliveries, this.queue, p.delivery, { queue: p.queue, data: p.data }).then(p.resolve, p.reject);
      }
    }
  }
}
